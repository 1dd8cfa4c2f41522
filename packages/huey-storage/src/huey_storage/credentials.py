"""Keep passwords out of errors and logs.

Storages that take a database URL, and the settings parsers that pass one
along, run every message that may quote it through ``hide_password`` first.
"""

from __future__ import annotations

import re

__all__ = ['hide_password']

# scheme://user:password@host -> the password part (up to the last @, as an
# unencoded password may hold @ or /); also a bare ://:password@
_URL_PASSWORD = re.compile(r'(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\'"]*:)[^\s\'"]*@')
# key=value DSNs (libpq): password=secret or password='se cret'
_DSN_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\S+)", re.I)
# a repr'd dict of options: {'password': 'secret'}
_DICT_PASSWORD = re.compile(
    r"""(?P<head>['"]password['"]\s*:\s*)(?:'[^']*'|"[^"]*"|[^,}\s]+)""", re.I
)


def hide_password(text: object) -> str:
    """``str(text)`` with the password of every URL (``scheme://user:secret@host``),
    DSN (``password=secret``) and repr'd option dict (``'password': 'secret'``)
    in it replaced by ``***``."""
    text = _URL_PASSWORD.sub(r'\g<head>***@', str(text))
    text = _DSN_PASSWORD.sub(r'\g<head>***', text)
    return _DICT_PASSWORD.sub(r"\g<head>'***'", text)
