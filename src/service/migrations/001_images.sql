-- 001_images: one row per accepted image, its status through the pipeline.
CREATE TABLE images (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    camera        text        NOT NULL,
    sha256        char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    original_name text,
    content_type  text        NOT NULL,
    bytes         bigint      NOT NULL CHECK (bytes >= 0),
    width         integer     NOT NULL CHECK (width >= 0),
    height        integer     NOT NULL CHECK (height >= 0),
    input_key     text        NOT NULL,
    output_key    text,
    status        text        NOT NULL DEFAULT 'received'
                  CHECK (status IN ('received', 'queued', 'processing', 'done', 'failed', 'rejected')),
    attempts      integer     NOT NULL DEFAULT 0,
    faces         integer,
    boxes         jsonb,
    timings       jsonb,
    error         text,
    worker        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    queued_at     timestamptz,
    started_at    timestamptz,
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT images_camera_sha256_key UNIQUE (camera, sha256)
);

CREATE INDEX images_status_updated_idx ON images (status, updated_at);
CREATE INDEX images_camera_created_idx ON images (camera, created_at);
