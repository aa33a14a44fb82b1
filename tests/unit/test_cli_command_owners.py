import importlib

from provledger.adapters.cli import main


def test_the_table_of_command_owners_matches_what_each_module_registers() -> None:
    for module in main.COMMAND_MODULES:
        importlib.import_module(f"provledger.adapters.cli.{module}")
    owners = {
        c.name or c.callback.__name__: c.callback.__module__.rsplit(".", 1)[-1]  # type: ignore[union-attr]
        for c in main.app.registered_commands
    }
    owners.pop("status")  # needs every module's section: loads them all
    groups = {g.name: g.typer_instance for g in main.app.registered_groups if g.name}
    for name, group in groups.items():
        modules = {c.callback.__module__.rsplit(".", 1)[-1] for c in group.registered_commands}  # type: ignore[union-attr]
        if name in main.NEEDS_ALL:
            assert len(modules) > 1, name
        else:
            (owners[name],) = modules
    assert owners == main.COMMAND_OWNERS


def test_the_sub_command_is_found_after_global_options() -> None:
    assert main.command_name(["--actor", "ana", "run", "--", "true"]) == "run"
    assert main.command_name(["--help"]) is None
