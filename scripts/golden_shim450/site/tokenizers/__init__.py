"""Import-only stand-in for the tokenizers package (scripts/golden_shim450): transformers v4.50 imports it in
integrations/ggml.py whatever is installed. It has no dist-info, so transformers' is_tokenizers_available() stays
False and the slow (pure Python) tokenizers are used; every name raises when used (see _offline_standin.py)."""
import _offline_standin

_offline_standin.install(__name__, {})
