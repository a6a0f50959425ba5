-- A GIN index gathers new entries in a pending list and merges them into the index
-- when the list outgrows `gin_pending_list_limit` (4 MB by default) or at a vacuum.
-- Every search reads the whole pending list as well as the index: after a few
-- thousand written meetings, 307 pages of it at 100,000 meetings, and a search took
-- 19 ms instead of 8. Kept at the smallest the server allows (64 kB, a few pages),
-- a search reads little of it, and a write merges a few hundred entries at a time.
ALTER INDEX statements_search SET (gin_pending_list_limit = 64);
ALTER INDEX statements_topics SET (gin_pending_list_limit = 64);
ALTER INDEX meetings_search SET (gin_pending_list_limit = 64);
ALTER INDEX meetings_topics SET (gin_pending_list_limit = 64);
ALTER INDEX meetings_countries SET (gin_pending_list_limit = 64);
ALTER INDEX agreements_search SET (gin_pending_list_limit = 64);
ALTER INDEX agreements_topics SET (gin_pending_list_limit = 64);
ALTER INDEX agreements_parties SET (gin_pending_list_limit = 64);
ALTER INDEX people_search_text SET (gin_pending_list_limit = 64);

SELECT gin_clean_pending_list(index::regclass)
  FROM unnest(ARRAY['statements_search', 'statements_topics', 'meetings_search',
                    'meetings_topics', 'meetings_countries', 'agreements_search',
                    'agreements_topics', 'agreements_parties', 'people_search_text']) AS index;
