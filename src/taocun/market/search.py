"""Full-text product search that works for Chinese, on SQLite and on PostgreSQL.

Chinese has no spaces between words, so search is by substring: "苹果" must find
"烟台红富士苹果", and one- and two-character words (梨, 茶, 苹果, 蜂蜜) are the most common
queries. Each product has a normalised ``search_text`` (NFKC, case-folded: name, category,
certifications, places, shop); a query is split on spaces into terms, and a product matches
when its text contains every term. Everything backend-specific is behind
:func:`search_filter` (and :func:`search_index_update` for the one index that needs it):

SQLite (FTS5, ``market_product_fts``, trigram tokenizer)
    A term of 3+ characters is a trigram phrase query. A trigram index cannot look up
    shorter strings directly, but every occurrence of a 1- or 2-character string is the
    start of some indexed trigram (the indexed text is padded with two spaces), so the
    term is expanded through the index's vocabulary (``fts5vocab``: the trigrams starting
    with it, a range scan) into an OR query. Only when a 1-character term starts more
    than ``VOCAB_EXPANSION_MAX`` distinct trigrams does it fall back to ``LIKE``.
    The FTS table holds its own copy of the text and is kept in step by the services
    (:func:`search_index_update`), so no trigger is lost when Django rebuilds the table.

PostgreSQL (``pg_trgm`` and a character index)
    A term of 3+ characters is ``search_text LIKE '%term%'`` on a GIN trigram index. A
    trigram index cannot narrow a shorter pattern (it scans everything), so 1- and
    2-character terms use ``search_chars``, a stored generated ``tsvector`` of the text's
    characters (GIN): "苹果" becomes the phrase ``苹 <-> 果``, rechecked with ``LIKE``.
    Both indexes are maintained by PostgreSQL itself.

Relevance is the same on both: products whose text contains the first term earliest (in the
name before the category, places and shop) first, then best sellers, then newest.
"""

import re
import unicodedata

from django.db import connection
from django.db.models import BooleanField, F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex
from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError

QUERY_MAX_CHARS = 60
TERMS_MAX = 5
VOCAB_EXPANSION_MAX = 400
FTS_TABLE = "market_product_fts"
FTS_VOCAB_TABLE = "market_product_fts_vocab"
# Appended to the text in the SQLite index so that a string at the very end of the text
# still starts a trigram (see the module docstring).
FTS_PADDING = "  "
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC (full-width Latin and digits become ASCII), case-folded, spaces collapsed,
    control characters removed. Applied to indexed texts and queries alike."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return _SPACES.sub(" ", text).strip()


def search_terms(query: str) -> list[str]:
    """The terms of a query: normalised, split on spaces, without terms that have no
    letter or digit (punctuation alone finds nothing useful), duplicates removed."""
    if query is None:
        return []
    if len(query) > QUERY_MAX_CHARS * 2 or "\x00" in query:
        raise ValidationError(
            _("The search text is too long (%(limit)d characters at most).")
            % {"limit": QUERY_MAX_CHARS},
            field="q",
        )
    normalized = normalize_text(query)
    if len(normalized) > QUERY_MAX_CHARS:
        raise ValidationError(
            _("The search text is too long (%(limit)d characters at most).")
            % {"limit": QUERY_MAX_CHARS},
            field="q",
        )
    terms: list[str] = []
    for term in normalized.split(" "):
        if term and any(ch.isalnum() for ch in term) and term not in terms:
            terms.append(term)
    if len(terms) > TERMS_MAX:
        raise ValidationError(
            _("Search for %(limit)d words at most.") % {"limit": TERMS_MAX}, field="q"
        )
    return terms


def search_filter(queryset: QuerySet, *, terms: list[str]) -> QuerySet:
    """Products of ``queryset`` whose search text contains every term."""
    if not terms:
        return queryset
    if connection.vendor == "postgresql":
        return _postgresql_filter(queryset, terms)
    if connection.vendor == "sqlite":
        return _sqlite_filter(queryset, terms)
    for term in terms:  # any other database: correct, unindexed
        queryset = queryset.filter(search_text__contains=term)
    return queryset


def search_relevance_order(terms: list[str]) -> list:
    """ORDER BY terms for "relevance": earliest occurrence of the first term, then best
    sellers, then newest. Without terms: best sellers, then newest."""
    if not terms:
        return [F("sold_count").desc(), F("id").desc()]
    return [
        StrIndex("search_text", Value(terms[0])).asc(),
        F("sold_count").desc(),
        F("id").desc(),
    ]


# --- PostgreSQL -------------------------------------------------------------------------


def _postgresql_filter(queryset: QuerySet, terms: list[str]) -> QuerySet:
    for index, term in enumerate(terms):
        if len(term) >= 3:
            queryset = queryset.filter(search_text__contains=term)
            continue
        # The character index finds the candidates; the exact recheck is written with
        # strpos, which no index serves, so that the planner cannot pick the trigram index
        # for it (a pattern of 1-2 characters makes that a full index scan).
        queryset = queryset.filter(
            RawSQL(
                '"market_product"."search_chars" @@ phraseto_tsquery(\'simple\', %s)',
                [" ".join(term)],
                output_field=BooleanField(),
            )
        )
        queryset = queryset.alias(**{f"term_{index}": StrIndex("search_text", Value(term))})
        queryset = queryset.filter(**{f"term_{index}__gt": 0})
    return queryset


# --- SQLite -----------------------------------------------------------------------------


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _vocabulary_expansion(term: str) -> list[str] | None:
    """The indexed trigrams that start with ``term`` (a 1- or 2-character string); None
    when there are too many to OR together."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT term FROM {FTS_VOCAB_TABLE} WHERE term >= %s AND term < %s LIMIT %s",
            [term, term + "\U0010ffff", VOCAB_EXPANSION_MAX + 1],
        )
        trigrams = [row[0] for row in cursor.fetchall()]
    return None if len(trigrams) > VOCAB_EXPANSION_MAX else trigrams


def _sqlite_filter(queryset: QuerySet, terms: list[str]) -> QuerySet:
    match_parts: list[str] = []
    trigrams_by_term: dict[str, list[str] | None] = {}
    for term in terms:
        if len(term) >= 3:
            match_parts.append(_fts_quote(term))
            continue
        trigrams = trigrams_by_term[term] = _vocabulary_expansion(term)
        if trigrams is None:
            queryset = queryset.filter(search_text__contains=term)
        elif not trigrams:
            return queryset.none()
        else:
            match_parts.append("(" + " OR ".join(_fts_quote(t) for t in trigrams) + ")")
    if match_parts:
        queryset = queryset.filter(
            id__in=RawSQL(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s",
                [" AND ".join(match_parts)],
            )
        )
        # Recheck on the product's own text (cheap on the few rows the index returned):
        # an index row left behind by a bulk delete can then never produce a wrong match.
        for term in terms:
            if len(term) >= 3 or trigrams_by_term.get(term):
                queryset = queryset.filter(search_text__contains=term)
    return queryset


def search_index_update(*, product_ids: list[int]) -> None:
    """Bring the index up to date for these products (after their search_text changed).

    Call inside the service's transaction. Only SQLite's FTS table needs it; PostgreSQL
    maintains its indexes itself.
    """
    if connection.vendor != "sqlite" or not product_ids:
        return
    ids = sorted(set(product_ids))
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", chunk)
            cursor.execute(
                f"INSERT INTO {FTS_TABLE}(rowid, search_text) "
                f"SELECT id, search_text || %s FROM market_product WHERE id IN ({marks})",
                [FTS_PADDING, *chunk],
            )


def search_index_rebuild() -> None:
    """Rebuild the whole index from ``market_product.search_text`` (after a bulk load)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE}")
        cursor.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, search_text) "
            "SELECT id, search_text || %s FROM market_product",
            [FTS_PADDING],
        )
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")


def search_condition_is_indexed(term: str) -> bool:
    """Whether a term is answered from an index (for the benchmark and the docs)."""
    if connection.vendor == "sqlite" and len(term) < 3:
        return _vocabulary_expansion(term) is not None
    return True
