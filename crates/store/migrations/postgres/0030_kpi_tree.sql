-- The KPI tree (one per workspace, as JSON like the health configuration) and the monthly
-- numbers people give it: targets for every node, actuals for the nodes Kizuna cannot compute.
CREATE TABLE kpi_tree (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    definition TEXT NOT NULL
);
CREATE TABLE kpi_values (
    node_key TEXT NOT NULL,
    month TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('target', 'actual')),
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (node_key, month, kind)
);
