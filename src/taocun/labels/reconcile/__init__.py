"""Reconciling published lists of Taobao villages with NBS division codes.

The service is :func:`taocun.labels.reconcile.services.published_list_reconcile`; the CLI is
``taocun labels_reconcile``. Modules, in the order the data flows: ``listfile`` (reading a
list), ``index`` (the division tree of the provinces a list needs), ``names`` (normalisation),
``matching`` (the matcher), ``agreement`` (against a stored evaluation), ``report`` (the CSV
report). See ``docs/reconcile.md``.
"""
