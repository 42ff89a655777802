-- The report `make run` prints from ringmaster.sqlite (the sqlite consumer's file_entries table,
-- docs/SQLITE.md):  sqlite3 ringmaster.sqlite < examples/walk-report.sql
.mode column
.headers on
.print entries by type
SELECT coalesce(type, '-') AS type, count(*) AS entries,
       printf('%.1f MiB', coalesce(sum(size), 0) / 1048576.0) AS size
FROM file_entries WHERE error IS NULL GROUP BY type ORDER BY entries DESC;

.print
.print totals
SELECT count(*) AS entries, sum(error IS NOT NULL) AS errors,
       printf('%.1f MiB', coalesce(sum(CASE WHEN type = 'file' THEN size END), 0) / 1048576.0) AS "file bytes",
       count(DISTINCT worker || '.' || instance) AS "worker instances"
FROM file_entries;

-- A file's directory is its path up to the last '/': rtrim(p, replace(p, '/', '')) strips the
-- last component (one pass over the table, no join), keeping the trailing '/'.
.print
.print largest directories (files directly in them)
SELECT printf('%10.1f MiB', sum(size) / 1048576.0) AS size, count(*) AS files,
       rtrim(path_text, replace(path_text, '/', '')) AS directory
FROM file_entries WHERE type = 'file' AND path_text IS NOT NULL
GROUP BY directory ORDER BY sum(size) DESC LIMIT 10;

-- Whole subtrees three components deep (/usr/lib/x, /usr/share/y), everything below them.
.print
.print largest subtrees (recursive, /a/b/c)
WITH files AS (
  SELECT size, path_text || '/' AS p FROM file_entries WHERE type = 'file' AND path_text IS NOT NULL
), cut AS (
  SELECT size, p, instr(substr(p, 2), '/') + 1 AS a FROM files
), cut2 AS (
  SELECT size, p, a, a + instr(substr(p, a + 1), '/') AS b FROM cut
), cut3 AS (
  SELECT size, p, b + instr(substr(p, b + 1), '/') AS c FROM cut2
)
SELECT printf('%10.1f MiB', sum(size) / 1048576.0) AS size, count(*) AS files, substr(p, 1, c - 1) AS subtree
FROM cut3 WHERE c < length(p) GROUP BY subtree ORDER BY sum(size) DESC LIMIT 10;
