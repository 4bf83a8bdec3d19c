"""Analysis tools for trained models (``python -m lite_fairseq.analysis.attention_maps``)."""
