/// Old store schemas exactly as saddled wrote them, copied here on purpose: the migration tests must keep
/// creating old stores after the code's DDL moves on.
enum FrozenSchemas {
    /// Version 1 (before the distributed-run step columns).
    static let v1 = """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('own', 'ingested')),
            state TEXT NOT NULL,
            config TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            finish_reason TEXT,
            finish_message TEXT
        );
        CREATE TABLE steps (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            step INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            loss REAL,
            grad_norm REAL,
            lr REAL,
            data_wait REAL,
            compute REAL,
            throughput REAL,
            fingerprint TEXT,
            label_histogram TEXT,
            PRIMARY KEY (run_id, rank, step)
        ) WITHOUT ROWID;
        CREATE TABLE diagnoses (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            step INTEGER,
            verdict TEXT NOT NULL,
            detail TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX diagnoses_by_run ON diagnoses (run_id, step);
        """

    /// Version 2: version 1 plus the two step columns it added (before runs carried `step_count`).
    static let v2 =
        v1 + """

            ALTER TABLE steps ADD COLUMN allreduce REAL;
            ALTER TABLE steps ADD COLUMN world_size INTEGER;
            """
}
