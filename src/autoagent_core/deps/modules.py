"""An import name -> the PyPI distribution that provides it.

The common cases where the two differ are listed; any other module is looked up under its
own name. The standard library and autoagent's own sandbox never map to anything.
"""

from __future__ import annotations

import sys

ALIASES: dict[str, str] = {
    "bs4": "beautifulsoup4", "yaml": "PyYAML", "PIL": "Pillow", "cv2": "opencv-python",
    "sklearn": "scikit-learn", "skimage": "scikit-image", "dateutil": "python-dateutil",
    "dotenv": "python-dotenv", "serial": "pyserial", "Crypto": "pycryptodome",
    "jwt": "PyJWT", "docx": "python-docx", "pptx": "python-pptx", "fitz": "PyMuPDF",
    "magic": "python-magic", "OpenSSL": "pyOpenSSL", "attr": "attrs", "gi": "PyGObject",
    "slugify": "python-slugify", "multipart": "python-multipart",
    "websocket": "websocket-client", "Levenshtein": "python-Levenshtein",
    "dns": "dnspython", "git": "GitPython", "markdown": "Markdown", "jose": "python-jose",
    "speech_recognition": "SpeechRecognition", "telegram": "python-telegram-bot",
    "googleapiclient": "google-api-python-client", "Bio": "biopython",
    "pkg_resources": "setuptools", "win32api": "pywin32", "win32con": "pywin32",
    "usb": "pyusb", "zmq": "pyzmq", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient",
    "sentence_transformers": "sentence-transformers", "ruamel": "ruamel.yaml",
    "lxml": "lxml", "faiss": "faiss-cpu", "tensorflow": "tensorflow",
}


def distribution_for(module: str) -> str | None:
    """The distribution to install for ``import module`` (a dotted name counts by its top
    level), or None for the standard library and names that are not modules."""
    top = module.split(".")[0].strip()
    if not top.isidentifier() or top in sys.stdlib_module_names or top == "__main__":
        return None
    return ALIASES.get(top, top)
