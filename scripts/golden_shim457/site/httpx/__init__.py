"""Import-only stand-in for httpx (scripts/golden_shim457): transformers of the 4.57 line imports it in utils/hub.py
for the hub's HTTP errors; every name raises when used (see golden_shim450/site/_offline_standin.py)."""
import _offline_standin

_offline_standin.install(__name__, {})
