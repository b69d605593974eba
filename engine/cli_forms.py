"""`portico forms encrypt-files`: move form files stored before encryption into the encrypted store.

Prints how many moved, how many the store refuses now (left in place) and how many had no bytes.
Safe to run again and while the web runs. Exit code 0.
"""

from __future__ import annotations


def register(sub) -> None:
    """Add the `forms` command group to the `portico` parser."""
    forms = sub.add_parser("forms", help="form submissions")
    commands = forms.add_subparsers(dest="forms_command", required=True)
    commands.add_parser("encrypt-files", help="encrypt form files stored before encryption").set_defaults(
        func=cmd_encrypt_files
    )


def cmd_encrypt_files(args) -> int:
    # Imported here: `portico --help` must not need the engine's database modules.
    from engine.cli import _connect, _settings
    from engine.services.forms.form_files import encrypt_stored_files

    _connect(_settings("mongodb_uri"))
    counts = encrypt_stored_files()
    print(
        f"moved {counts['moved']}, refused {counts['refused']} (left in place), missing {counts['missing']}"
    )
    return 0
