"""``yzt keygen``: an Ed25519 key pair for signing certification bundles and approving waivers."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "keygen",
        help="make a key pair for signing bundles (conform --sign) and waivers (waiver sign)",
        description="Write a new Ed25519 private key to KEY (PEM, mode 0600, never over an existing "
        "file) and its public key to KEY.pub. Keep KEY on the machine that signs; hand KEY.pub to "
        "whoever validates (yzt validate FILE.zip --trust KEY.pub). Exit 0, or 2 when KEY or "
        "KEY.pub exists or cannot be written.",
    )
    p.add_argument("--out", type=Path, required=True, metavar="KEY",
                   help="where to write the private key (the public key goes to KEY.pub)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.conformance.signatures import generate_key

    key = generate_key(args.out)
    print(f"private key: {args.out} (mode 0600: keep it on the signing machine)")
    print(f"public key:  {args.out}.pub (fingerprint {key.fingerprint}: hand it to validators)")
    return 0
