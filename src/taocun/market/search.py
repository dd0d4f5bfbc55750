"""Full-text product search that works for Chinese, on SQLite and on PostgreSQL.

Chinese has no spaces between words, so search is by substring: "苹果" must find
"烟台红富士苹果", and one- and two-character words (梨, 茶, 苹果, 蜂蜜) are the most common
queries. Each product has a normalised ``search_text`` (NFKC, case-folded: name, category,
certifications, places, shop); a query is split on spaces into terms, and a product matches
when its text contains every term. Everything backend-specific is behind
:func:`search_filter`, :func:`search_best_matches` and :func:`search_index_update`:

SQLite (FTS5, ``market_product_fts``, trigram tokenizer)
    A term of 3+ characters is a trigram phrase query. A trigram index cannot look up
    shorter strings directly, but every occurrence of a 1- or 2-character string is the
    start of some indexed trigram (the indexed text is padded with two spaces), so the
    term is expanded through the index's vocabulary (``fts5vocab``: the trigrams starting
    with it, a range scan) into an OR query. Only when a 1-character term starts more
    than ``VOCAB_EXPANSION_MAX`` distinct trigrams does it fall back to ``LIKE``.
    The FTS table holds its own copy of the text and is kept in step by the services
    (:func:`search_index_update`), so no trigger is lost when Django rebuilds the table.
    Its row ids are ``search_rank << 32 | id`` (see "best match" below).

PostgreSQL (``pg_trgm`` and an index of characters and pairs)
    A term of 3+ characters is ``search_text LIKE '%term%'`` on a GIN trigram index. A
    trigram index cannot narrow a shorter pattern (it scans everything), so 1- and
    2-character terms are looked up in ``market_product_search_grams`` (migration 0006),
    a GIN index of ``taocun_search_grams(search_text)``: the text's characters and pairs
    of neighbouring characters, as a ``tsvector``. "苹果" is one exact lookup of the pair
    苹果, rechecked with ``strpos``.
    Both indexes are maintained by PostgreSQL itself.

"Best match" is the same on both (:func:`search_best_matches`). Each product has a stored
``search_rank`` (:func:`search_rank_expression`: sales in powers of two, good ratings, a
concise name). The candidates are the first matches in (search rank, newest) order, at most
as many as the pages show (2,000); they are sorted by where the terms stand in the name
(:func:`search_match_tier`: a whole word of the name, the start or end of a word, inside the
name, or only in the category, places or shop), then by that same order. When a query has
more matches than that, it is the best of the top-ranked 2,000 that is shown, and the page
says so. What makes this fast is that nothing reads every match of a common term:

SQLite
    The FTS5 row id is ``search_rank << 32 | id``, so the index returns matches best-ranked
    first and stops after the candidates (ORDER BY rowid DESC LIMIT), whatever the number
    of matches. Each candidate's own row is read by primary key to check the filters and
    compute its tier; comparing the key's rank with the row's also rejects an index row
    left under an older rank.

PostgreSQL
    GIN indexes return matches in table order, so the first N by rank need either a walk
    down ``market_listed_rank`` (rank, id, with the text, the name and the filter columns
    in the index: an index-only scan, testing each product, stopping at N) or fetching and
    sorting every match. A probe of the first ``RELEVANCE_PROBE`` products measures how
    common the terms are and picks the cheaper: the walk for common terms, the match
    indexes for rare ones.

The rank is written only here (:func:`search_index_update`, :func:`search_rank_refresh`,
:func:`search_index_rebuild`): on SQLite the index rows are keyed by it.
"""

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import CombinedExpression, Expression, RawSQL
from django.db.models.functions import Length, StrIndex, Substr
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError
from taocun.market.models import Product

QUERY_MAX_CHARS = 60
TERMS_MAX = 5
VOCAB_EXPANSION_MAX = 400
FTS_TABLE = "market_product_fts"
FTS_VOCAB_TABLE = "market_product_fts_vocab"
# Appended to the text in the SQLite index so that a string at the very end of the text
# still starts a trigram (see the module docstring).
FTS_PADDING = "  "
# The SQLite index's row id: the search rank above the product id (ids stay below 2^32).
KEY_ID_BITS = 32
KEY_ID_MASK = (1 << KEY_ID_BITS) - 1
_FTS_KEY = f"((search_rank << {KEY_ID_BITS}) | id)"
# The search rank: 4 points per doubling of the units sold (up to 2^15), 2 for an average
# of 4.5 stars or more (1 for 4.0) over at least 3 ratings, 1 for a name of at most 20
# characters. 0-63.
RANK_SALES_LEVELS = 15
RANK_RATINGS_MIN = 3
RANK_NAME_CONCISE_CHARS = 20
# PostgreSQL: the best-ranked products tested to measure how common the terms are, and the
# longest walk down the rank index before fetching every match through the GIN indexes is
# cheaper (an index entry costs about 1/10 of a table row fetched at random: at a million
# products the two cost the same near 1.3 % of products matching).
RELEVANCE_PROBE = 5_000
RELEVANCE_WALK_MAX = 150_000
# PostgreSQL: the memory a search's bitmaps may take (see search_memory). A bitmap page
# takes about 64 bytes: 32 MB keep bitmaps of a table of 500,000 pages exact.
SEARCH_WORK_MEM = "32MB"
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


@contextmanager
def search_memory(terms: list[str]) -> Iterator[None]:
    """Run a search's queries with enough memory for exact bitmaps (PostgreSQL).

    With the default ``work_mem`` (4 MB) a bitmap of more than about 65,000 table pages —
    a broad filter such as a top category at a million products — turns lossy, and when
    it is ANDed with the matches of a term, PostgreSQL rechecks the term on every match
    by computing ``taocun_search_grams`` of its text (about 0.2 ms a row: 苹果 in 水果,
    counted up to 2,001, took 385 ms). A transaction with a local ``work_mem`` avoids that;
    listings without terms need nothing. Elsewhere, nothing is done.
    """
    if not terms or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [SEARCH_WORK_MEM])
        yield


# --- ranking ------------------------------------------------------------------------------


def search_rank_expression() -> Expression:
    """A product's search rank from its own columns (see ``RANK_*``): which of the many
    matches of a broad query are ranked at all, and the order within a tier.

    Stored in ``Product.search_rank`` by :func:`search_index_update` and
    :func:`search_rank_refresh` (on SQLite the index's row ids depend on it, so it cannot
    change behind the index's back).
    """
    sales = Case(
        *[
            When(sold_count__gte=(1 << level) - 1, then=Value(level))
            for level in range(RANK_SALES_LEVELS, 0, -1)
        ],
        default=Value(0),
    )
    rated = Q(rating_count__gte=RANK_RATINGS_MIN)
    ratings = Case(
        When(rated & Q(rating_avg_centi__gte=450), then=Value(2)),
        When(rated & Q(rating_avg_centi__gte=400), then=Value(1)),
        default=Value(0),
    )
    concise = Case(
        When(LessThanOrEqual(Length("name"), RANK_NAME_CONCISE_CHARS), then=Value(1)),
        default=Value(0),
    )
    return CombinedExpression(
        CombinedExpression(
            CombinedExpression(sales, "*", Value(4)), "+", ratings, output_field=IntegerField()
        ),
        "+",
        concise,
        output_field=IntegerField(),
    )


def search_match_tier(name: str, terms: list[str]) -> int:
    """Where the terms stand in a product's name, summed over the terms (lower first):
    0 a whole word of the name, 1 the start or the end of a word (for Chinese the end is
    usually what the product is: 红富士苹果 is an apple), 2 inside the name, 3 not in the
    name (its category, certifications, places or shop: a passing mention).

    ``name`` is the name as searched: the start of ``search_text`` (normalised like the
    query) as long as the product's name (:data:`NAME_IN_TEXT`); words are separated by
    spaces. Computed in Python for the candidates only (2,000 at most).

    >>> search_match_tier("烟台红富士苹果 5斤装", ["苹果"])
    1
    >>> search_match_tier("苹果醋", ["苹果", "醋"])
    2
    """
    words = f" {name} "
    tier = 0
    for term in terms:
        if f" {term} " in words:
            continue
        if f" {term}" in words or f"{term} " in words:
            tier += 1
        elif term in words:
            tier += 2
        else:
            tier += 3
    return tier


# The product's name as it stands in its search text (normalised, so that the query's terms
# compare with it): what the tiers are computed from.
NAME_IN_TEXT = Substr("search_text", 1, Length("name"))


@dataclass(frozen=True)
class BestMatches:
    """One page of "best match". ``matches`` counts the candidates, up to
    ``candidates_max + 1``: more than ``candidates_max`` means there are more matches than
    were ranked (the ranked ones are the best-ranked). ``path`` says how the candidates were
    found (for benchmarks and EXPLAIN): "index" (SQLite, rank-ordered FTS), "probe", "walk"
    or "matches" (PostgreSQL: see :func:`_postgresql_candidates`), "scan" (no usable index).
    """

    ids: list[int]
    matches: int
    path: str


# A candidate: product id and its name as searched (NAME_IN_TEXT), in (search rank, id) order.
Candidate = tuple[int, str]


def search_best_matches(
    queryset: QuerySet, *, terms: list[str], offset: int, limit: int, candidates_max: int
) -> BestMatches:
    """Ids of the products of ``queryset`` (filtered, not yet matched) that match every
    term, best match first, ``offset`` to ``offset + limit``.

    The candidates are the first ``candidates_max`` matches in (search rank, id) order —
    all the matches when there are no more — read with their names in one query (after a
    probe on PostgreSQL); they are then put in :func:`search_match_tier` order, keeping the
    rank order within a tier (a stable sort of at most ``candidates_max`` products).
    """
    candidates, path = _candidates(queryset, terms, candidates_max + 1)
    ranked = sorted(
        candidates[:candidates_max], key=lambda candidate: search_match_tier(candidate[1], terms)
    )
    return BestMatches(
        ids=[pk for pk, _tier in ranked[offset : offset + limit]],
        matches=len(candidates),
        path=path,
    )


def _candidates(queryset: QuerySet, terms: list[str], limit: int) -> tuple[list[Candidate], str]:
    if connection.vendor == "postgresql":
        return _postgresql_candidates(queryset, terms, limit)
    if connection.vendor == "sqlite":
        candidates = _sqlite_candidates(queryset, terms, limit)
        if candidates is not None:
            return candidates, "index"
    # No index to walk in rank order (another database, or SQLite with only terms too
    # common to look up): walk the rank index and test every product's text.
    for term in terms:
        queryset = queryset.filter(search_text__contains=term)
    rows = (
        queryset.annotate(name_in_text=NAME_IN_TEXT)
        .order_by("-search_rank", "-id")
        .values_list("id", "name_in_text")[:limit]
    )
    return list(rows), "scan"


# --- PostgreSQL -------------------------------------------------------------------------


def _postgresql_candidates(
    queryset: QuerySet, terms: list[str], limit: int
) -> tuple[list[Candidate], str]:
    """The first ``limit`` matches in rank order.

    The probe tests the ``RELEVANCE_PROBE`` best-ranked listed products (those of them that
    pass the filters): if they hold ``limit`` matches, or are all there is, they give the
    candidates ("probe"). Otherwise, from the share that matched, a walk down the rank
    index that would find ``limit`` matches within ``RELEVANCE_WALK_MAX`` index entries is
    done ("walk": the terms are common and the filters, if any, are broad); else every match
    is fetched through the GIN indexes and sorted ("matches").
    """
    # Where the probe ends: the RELEVANCE_PROBE-th listed product in rank order (an
    # index-only count down the rank index).
    bound = list(
        Product.objects.filter(is_listed=True)
        .order_by("-search_rank", "-id")
        .values_list("search_rank", "id")[RELEVANCE_PROBE - 1 : RELEVANCE_PROBE]
    )
    if not bound:  # fewer listed products than that: the probe looks at every one
        return _postgresql_walk(queryset, terms, limit=limit), "probe"
    hits = _postgresql_walk(_rank_at_least(queryset, bound[0]), terms, limit=limit)
    if len(hits) >= limit:
        return hits, "probe"
    if len(hits) * RELEVANCE_WALK_MAX >= limit * RELEVANCE_PROBE:
        # The walk goes on from where the probe ended.
        hits += _postgresql_walk(
            _rank_at_least(queryset, bound[0], below=True),
            terms,
            limit=limit - len(hits),
            products_max=2 * RELEVANCE_WALK_MAX,
        )
        if len(hits) >= limit:  # else the probe was not typical: fall through
            return hits, "walk"
    # "+ 0" keeps the planner from walking the rank index instead, reading the table for
    # every product it passes (the match conditions are not in that index).
    rows = (
        _postgresql_filter(queryset, terms)
        .annotate(name_in_text=NAME_IN_TEXT)
        .order_by((F("search_rank") + 0).desc(), F("id").desc())
        .values_list("id", "name_in_text")[:limit]
    )
    return list(rows), "matches"


def _rank_at_least(queryset: QuerySet, bound: tuple[int, int], *, below: bool = False):
    """The products of ``queryset`` at or above ``bound`` (search rank, id) in rank order
    (strictly below it with ``below``): a range of the rank index."""
    return queryset.filter(
        RawSQL(
            '("market_product"."search_rank", "market_product"."id") '
            + ("< (%s, %s)" if below else ">= (%s, %s)"),
            bound,
            output_field=BooleanField(),
        )
    )


def _postgresql_walk(
    queryset: QuerySet, terms: list[str], *, limit: int, products_max: int | None = None
) -> list[Candidate]:
    """The first ``limit`` matches of ``queryset`` in rank order (among its first
    ``products_max`` products), with their names: an index-only scan down
    ``market_listed_rank`` (it holds the text, the name and the filter columns) that tests
    each product with ``strpos`` and stops at the ``limit``-th match."""
    walk = queryset.order_by("-search_rank", "-id").values(
        "id", "search_rank", "search_text", "name"
    )
    if products_max is not None:
        walk = walk[:products_max]
    sql, params = walk.query.sql_with_params()
    matched = " AND ".join(["strpos(walk.search_text, %s) > 0"] * len(terms))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT walk.id, substring(walk.search_text, 1, length(walk.name))"
            f" FROM ({sql}) AS walk WHERE {matched}"
            " ORDER BY walk.search_rank DESC, walk.id DESC LIMIT %s",
            [*params, *terms, limit],
        )
        return [tuple(row) for row in cursor.fetchall()]


def _postgresql_filter(queryset: QuerySet, terms: list[str]) -> QuerySet:
    for index, term in enumerate(terms):
        if len(term) >= 3:
            queryset = queryset.filter(search_text__contains=term)
            continue
        # The index of characters and character pairs finds the products holding the term;
        # the recheck is written with strpos, which no index serves, so that the planner
        # cannot pick the trigram index for it (a pattern of 1-2 characters makes that a
        # full index scan), and so that a walk down a sorted index tests strpos first, not
        # the index's function.
        if _grams_can_look_up(term):
            queryset = queryset.filter(
                RawSQL(
                    'taocun_search_grams("market_product"."search_text")'
                    " @@ plainto_tsquery('simple', %s)",
                    [term],
                    output_field=BooleanField(),
                )
            )
        queryset = queryset.alias(**{f"term_{index}": StrIndex("search_text", Value(term))})
        queryset = queryset.filter(**{f"term_{index}__gt": 0})
    return queryset


def _grams_can_look_up(term: str) -> bool:
    """Whether a 1- or 2-character term is looked up in the index of characters and pairs:
    not when it holds a character the text-search parser might drop (punctuation,
    symbols), as its query could come out empty and find nothing."""
    return term.isalnum()


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


def _sqlite_match(terms: list[str]) -> str | None:
    """The FTS5 query for the terms the index can answer; None when it can answer none of
    them (only 1-character terms that start too many trigrams), "" when a term occurs
    nowhere."""
    match_parts: list[str] = []
    for term in terms:
        if len(term) >= 3:
            match_parts.append(_fts_quote(term))
            continue
        trigrams = _vocabulary_expansion(term)
        if trigrams is None:
            continue  # rechecked with LIKE only
        if not trigrams:
            return ""
        match_parts.append("(" + " OR ".join(_fts_quote(t) for t in trigrams) + ")")
    return " AND ".join(match_parts) if match_parts else None


def _sqlite_filter(queryset: QuerySet, terms: list[str]) -> QuerySet:
    match = _sqlite_match(terms)
    if match == "":
        return queryset.none()
    if match is not None:
        # Sorted by id: the row ids come in rank order, and SQLite builds the IN set from
        # sorted ids faster (52 ms instead of 67 for the 77,202 matches of 茶).
        queryset = queryset.filter(
            id__in=RawSQL(
                f"SELECT rowid & {KEY_ID_MASK} AS product_id FROM {FTS_TABLE}"
                f" WHERE {FTS_TABLE} MATCH %s ORDER BY product_id",
                [match],
            )
        )
    # Check every term on the product's own text: the terms the index could not answer,
    # and the others again (cheap on the few rows the index returned), so that an index
    # row left behind by a bulk delete can never produce a wrong match.
    for term in terms:
        queryset = queryset.filter(search_text__contains=term)
    return queryset


def _sqlite_candidates(queryset: QuerySet, terms: list[str], limit: int) -> list[Candidate] | None:
    """The first ``limit`` matches in rank order with their names, read from the index in
    its row-id order (``search_rank << 32 | id``, descending); each candidate's own row is
    read by primary key to check the filters and the terms and to take its name (NULL when
    it does not qualify). None when the index can answer no term."""
    match = _sqlite_match(terms)
    if match is None:
        return None
    if match == "":
        return []
    own_row = queryset.order_by().filter(
        pk=RawSQL(f"{FTS_TABLE}.rowid & {KEY_ID_MASK}", ()),
        # An index row keyed with an older rank is not this product's row any more.
        search_rank=RawSQL(f"{FTS_TABLE}.rowid >> {KEY_ID_BITS}", ()),
    )
    for term in terms:
        own_row = own_row.filter(search_text__contains=term)
    sql, params = (
        own_row.annotate(name_in_text=NAME_IN_TEXT).values("name_in_text").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid & {KEY_ID_MASK}, ({sql}) FROM {FTS_TABLE}"
            f" WHERE {FTS_TABLE} MATCH %s AND ({sql}) IS NOT NULL"
            " ORDER BY rowid DESC LIMIT %s",
            [*params, match, *params, limit],
        )
        return [tuple(row) for row in cursor.fetchall()]


def search_index_update(*, product_ids: list[int]) -> None:
    """Bring the search rank and the index up to date for these products (after their
    search_text or anything of the rank changed).

    Call inside the service's transaction. On SQLite the FTS rows are deleted under their
    old key and inserted under the new one; PostgreSQL maintains its indexes itself.
    """
    if not product_ids:
        return
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        if connection.vendor != "sqlite":
            _ranks_write(Product.objects.filter(pk__in=chunk))
            continue
        marks = ",".join(["%s"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {FTS_TABLE} WHERE rowid IN (SELECT {_FTS_KEY} "
                f"FROM market_product WHERE id IN ({marks}))",
                chunk,
            )
            _ranks_write(Product.objects.filter(pk__in=chunk))
            cursor.execute(
                f"INSERT INTO {FTS_TABLE}(rowid, search_text) SELECT {_FTS_KEY}, "
                f"search_text || %s FROM market_product WHERE id IN ({marks}) ORDER BY 1",
                [FTS_PADDING, *chunk],
            )


def _rank_moved(products: QuerySet) -> QuerySet:
    """The products whose stored rank differs from what their columns give now."""
    return products.alias(rank_now=search_rank_expression()).exclude(search_rank=F("rank_now"))


def _ranks_write(products: QuerySet) -> int:
    """Store the rank of these products where it moved (a row whose rank did not move is
    not written again); how many were written."""
    return _rank_moved(products).update(search_rank=search_rank_expression())


def search_rank_refresh(*, product_ids: list[int] | None = None) -> int:
    """Recompute the search rank of these products (all when None) where it changed, and
    reindex them; returns how many changed.

    The rank depends on units sold and ratings, which change without the product being
    saved: ``market.services.product_sold_add`` and ``product_rating_apply`` call this in
    their transaction.
    """
    products = Product.objects.all()
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    changed = list(_rank_moved(products).values_list("id", flat=True))
    search_index_update(product_ids=changed)
    return len(changed)


def search_index_rebuild() -> None:
    """Recompute every search rank, and on SQLite rebuild the whole index from
    ``market_product.search_text`` (after a bulk load)."""
    _ranks_write(Product.objects.all())
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE}")
        # In key order: FTS5 writes out its pending index whenever a row id is lower than
        # the previous one, which made the build of a million products much slower.
        cursor.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, search_text) "
            f"SELECT {_FTS_KEY}, search_text || %s FROM market_product ORDER BY 1",
            [FTS_PADDING],
        )
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")


def search_condition_is_indexed(term: str) -> bool:
    """Whether a term is answered from an index (for the benchmark and the docs)."""
    if len(term) >= 3:
        return True
    if connection.vendor == "sqlite":
        return _vocabulary_expansion(term) is not None
    if connection.vendor == "postgresql":
        return _grams_can_look_up(term)
    return True
