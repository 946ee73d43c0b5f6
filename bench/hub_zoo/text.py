"""Text tasks and text backbones of keras-hub, tiny (vocabulary 50, one layer, hidden 16)."""

import keras_hub

from hub_zoo import entry, seed

M = keras_hub.models
VOCAB = 50


@entry("BERT", "BertTextClassifier")
def bert_text_classifier():
    seed()
    backbone = M.BertBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                              intermediate_dim=32, max_sequence_length=32)
    return M.BertTextClassifier(backbone, num_classes=3, preprocessor=None)
