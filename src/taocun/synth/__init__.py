"""Synthetic shops and orders at national scale: ``taocun synth``.

Realistic, deterministic sales ledgers for real division codes, written in the interchange
formats of ``docs/formats.md`` so that the imports, the label engine and the benchmarks can
run on data of any size. Nothing here touches the database. See ``docs/synth.md``.
"""
