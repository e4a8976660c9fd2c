"""Stand-in huggingface_hub.constants: offline, cache in a temporary folder (never written at import)."""
import os
import tempfile

HF_HOME = os.path.join(tempfile.gettempdir(), "groundlmm-golden-shim-hf-home")
default_cache_path = os.path.join(HF_HOME, "hub")
HF_HUB_CACHE = default_cache_path
HUGGINGFACE_HUB_CACHE = default_cache_path
HF_HUB_OFFLINE = True
HF_HUB_DISABLE_TELEMETRY = True
ENDPOINT = "offline"
HUGGINGFACE_CO_URL_TEMPLATE = "offline/{repo_id}/resolve/{revision}/{filename}"
REPO_TYPES = [None, "model", "dataset", "space"]
REPO_TYPES_URL_PREFIXES = {"dataset": "datasets/", "space": "spaces/"}
DEFAULT_REVISION = "main"
HF_HUB_ENABLE_HF_TRANSFER = False
HF_HUB_ETAG_TIMEOUT = 10
HF_HUB_DOWNLOAD_TIMEOUT = 10
