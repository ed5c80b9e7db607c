-- 002_provenance_originals: which model, weights, preset and anonctl
-- version made an image's output (filled by the worker when it marks the
-- row done; NULL for outputs made before this migration), when the
-- original was deleted (NULL: still in the input bucket), and when the
-- image was last sent through the pipeline again by `anonctl reprocess`.
-- Only added columns: workers and intakes of the previous release keep
-- working against it during a rollout.
ALTER TABLE images
    ADD COLUMN model               text,
    ADD COLUMN model_version       text,
    ADD COLUMN preset              text,
    ADD COLUMN anonctl_version     text,
    ADD COLUMN original_deleted_at timestamptz,
    ADD COLUMN reprocessed_at      timestamptz;

-- What `anonctl purge` looks for: finished images whose original is still
-- held. Small however large the table grows, since purged rows leave it.
CREATE INDEX images_originals_held_idx ON images (id)
    WHERE original_deleted_at IS NULL AND status IN ('done', 'rejected');
