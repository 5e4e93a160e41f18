"""A seccomp filter for strict mode: ``socket(AF_UNIX, ...)`` fails with EACCES.

bubblewrap loads a compiled classic-BPF program given with ``--seccomp FD``; this module
assembles that program with :mod:`struct` (the kernel's ``struct sock_filter``: u16 code,
u8 jt, u8 jf, u32 k). The filter, checked in this order:

* a system call of another architecture (i386 ``int 0x80`` on x86_64, x32) fails with EPERM,
  so ``socketcall`` cannot go around the rule;
* ``io_uring_setup`` fails with EPERM (io_uring can create sockets without ``socket()``);
* ``socket`` with domain ``AF_UNIX`` fails with EACCES; everything else is allowed, also
  ``socketpair`` (asyncio's self-pipe), which reaches no socket path.
"""

from __future__ import annotations

import errno
import platform
import struct

# classic BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
# seccomp
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
_NR_OFFSET, _ARCH_OFFSET, _ARG0_OFFSET = 0, 4, 16  # struct seccomp_data (little endian)
AF_UNIX = 1
X32_BIT = 0x40000000
# machine -> (AUDIT_ARCH_*, socket, io_uring_setup)
ARCHES = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}


def instruction(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def deny_unix_sockets(machine: str | None = None) -> bytes:
    """The compiled filter for ``machine`` (default: this one); ValueError if unknown."""
    machine = machine or platform.machine()
    if machine not in ARCHES:
        raise ValueError(f"no seccomp filter for the {machine} architecture")
    arch, nr_socket, nr_uring = ARCHES[machine]
    eperm, eacces = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.EACCES
    program = [
        instruction(_LD_W_ABS, 0, 0, _ARCH_OFFSET),
        instruction(_JEQ_K, 1, 0, arch),          # native: skip the next line
        instruction(_RET_K, 0, 0, eperm),
        instruction(_LD_W_ABS, 0, 0, _NR_OFFSET),
        instruction(_JGE_K, 0, 1, X32_BIT),       # x32 numbers: refuse
        instruction(_RET_K, 0, 0, eperm),
        instruction(_JEQ_K, 0, 1, nr_uring),
        instruction(_RET_K, 0, 0, eperm),
        instruction(_JEQ_K, 0, 3, nr_socket),     # not socket(): allow
        instruction(_LD_W_ABS, 0, 0, _ARG0_OFFSET),
        instruction(_JEQ_K, 0, 1, AF_UNIX),
        instruction(_RET_K, 0, 0, eacces),
        instruction(_RET_K, 0, 0, RET_ALLOW),
    ]
    return b"".join(program)
