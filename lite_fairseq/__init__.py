"""lite_fairseq: Lite Transformer (Long-Short Range Attention) as a fairseq plugin."""

__version__ = "0.1.0"
