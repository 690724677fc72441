"""``yzt waiver sign``: an approver signs a waiver file, so that a bundle's waivers can count."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "waiver",
        help="sign a waiver file as its approver",
        description="yzt waiver sign WAIVERS.yaml --key KEY checks the waiver file and writes "
        "WAIVERS.yaml.sig, the approver's Ed25519 signature of its exact bytes. yzt conform "
        "--waivers WAIVERS.yaml carries both into its bundle; yzt validate --trust counts the "
        "waivers only when the signing key is trusted and is not the key that signed the run.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    s = actions.add_parser("sign", help="sign WAIVERS.yaml (writes WAIVERS.yaml.sig)")
    s.add_argument("file", type=Path, metavar="WAIVERS.yaml")
    s.add_argument("--key", type=Path, required=True, metavar="KEY",
                   help="the approver's private key (yzt keygen --out KEY)")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.conformance.signatures import WAIVERS_CONTEXT, load_private_key, public_of, sign
    from yzt.conformance.waivers import load_waivers, signature_path
    from yzt.errors import UserError

    key = load_private_key(args.key, "--key")
    waivers = load_waivers(args.file)  # a bad file is refused, naming the field, before signing
    data = args.file.read_bytes()
    out = signature_path(args.file)
    try:
        out.write_bytes(sign(key, WAIVERS_CONTEXT, args.file.name, data))
    except OSError as exc:
        raise UserError(f"{out}: cannot write the signature ({exc.strerror or exc})") from None
    print(f"{out}: {len(waivers)} waiver(s) approved by {public_of(key).fingerprint}")
    return 0
