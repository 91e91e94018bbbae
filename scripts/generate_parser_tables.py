"""Regenerate objspec/ltl/_parser_tables.py, the precomputed LALR tables of the LTL parser
(run after changing the grammar in objspec/ltl/parser.py or upgrading lark)."""

from pathlib import Path

from objspec.ltl.parser import write_parser_tables

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "objspec" / "ltl" / "_parser_tables.py"
    write_parser_tables(str(target))
    print(f"wrote {target}")
