"""Password hashes and the password policy of console accounts.

Hashes are argon2id through ``pwdlib`` (a maintained library) with OWASP's recommended cost (19 MiB,
2 passes, one lane: the server has two cores, and every login attempt pays it).
Hashes written before it (``scrypt$N$r$p$salt$hash``, ``hashlib.scrypt``) still verify, and
:func:`verify_and_update` hands back an argon2id hash for them, so a login rehashes transparently.

The policy (:func:`password_problem`) is checked when an account is created or its password changed:
at least :data:`MIN_LENGTH` characters, not a common password, not digits only, not containing the
username, not one or two repeated characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 10
"""Shortest password accepted for a new account or a new password."""
MAX_LENGTH = 256
"""Longest password accepted (hashing an unbounded input is a denial of service)."""

COMMON_PASSWORDS = frozenset(
    """
    123456 1234567 12345678 123456789 1234567890 0123456789 11111111 1111111111 00000000 0000000000
    12341234 87654321 123123123 1234512345 147258369 987654321 qwerty qwertyuiop qwerty123 qwerty1234
    asdfghjkl zxcvbnm password password1 password12 password123 passw0rd p@ssw0rd p@ssword admin
    admin123 admin1234 administrator root toor letmein welcome welcome1 welcome123 iloveyou
    iloveyou123 abc123 abc12345 abcd1234 abcdefgh 1q2w3e4r 1q2w3e4r5t 1qaz2wsx zaq12wsx monkey dragon
    football baseball sunshine princess master superman trustno1 changeme changeme123 helpline
    helpline123 matkhau matkhau123 matkhau1234 matkhaumoi anhyeuem anhyeuem123 emyeuanh yeuem123
    vietnam vietnam123 vietnam1234 hanoi123 saigon123 hochiminh canbo123 canbo1234 quantri quantri123
    motcua motcua123 hethong hethong123 taikhoan taikhoan123 congdan dichvucong dichvucong123
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
"""Passwords guessers try first (international lists and the Vietnamese ones people pick), compared
folded (lower case, no diacritics, no separators)."""

_SCRYPT_PREFIX = "scrypt$"


def b64(data: bytes) -> str:
    """URL-safe base64 without padding, as hashes and session cookies store bytes."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """The bytes of a :func:`b64` text.

    Raises:
        ValueError: not base64.
    """
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LegacyScryptHasher:
    """The hashes of the first console versions (``scrypt$N$r$p$salt$hash``): verified, never written
    (``check_needs_rehash`` is always true, so a login replaces them with argon2id)."""

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        text = hash.decode() if isinstance(hash, bytes) else hash
        return text.startswith(_SCRYPT_PREFIX)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        raise NotImplementedError("scrypt hashes are only verified; new hashes are argon2id")

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        secret = password.encode() if isinstance(password, str) else password
        text = hash.decode() if isinstance(hash, bytes) else hash
        try:
            _, n, r, p, salt, digest = text.split("$")
            expected = unb64(digest)
            actual = hashlib.scrypt(
                secret, salt=unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=2**26
            )
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(actual, expected)

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


ARGON2 = Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""OWASP's argon2id parameters (Password Storage Cheat Sheet); a hash with others is rehashed at login."""
_HASHER = PasswordHash((ARGON2, LegacyScryptHasher()))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (fresh random salt, parameters in the hash)."""
    return _HASHER.hash(password)


def verify_and_update(password: str, stored: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``stored``, and the hash to store instead when it should be
    upgraded (an old scrypt hash, weaker argon2 parameters); ``(False, None)`` for a malformed hash."""
    try:
        return _HASHER.verify_and_update(password, stored)
    except Exception:  # pwdlib raises UnknownHashError or the hasher's own errors for a malformed hash
        return False, None


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``."""
    return verify_and_update(password, stored)[0]


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def password_problem(password: str, username: str = "") -> str | None:
    """What is wrong with ``password`` as a new password for ``username`` (Vietnamese, for the person
    choosing it), or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"mật khẩu cần ít nhất {MIN_LENGTH} ký tự"
    if len(password) > MAX_LENGTH:
        return f"mật khẩu dài tối đa {MAX_LENGTH} ký tự"
    folded = _folded(password)
    if len(set(password)) <= 2:
        return "mật khẩu không được chỉ lặp lại một hai ký tự"
    if folded.isdigit():
        return "mật khẩu không được chỉ có chữ số"
    if folded in COMMON_PASSWORDS or folded.rstrip("0123456789") in COMMON_PASSWORDS:
        return "mật khẩu này quá phổ biến, dễ bị đoán; hãy chọn mật khẩu khác"
    name = _folded(username)
    if len(name) >= 3 and name in folded:
        return "mật khẩu không được chứa tên đăng nhập"
    return None


DUMMY_HASH = hash_password(secrets.token_hex(8))
"""Checked against when the user does not exist, so a login takes as long either way."""
