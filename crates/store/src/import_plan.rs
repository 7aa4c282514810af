//! Planning an import apart from SQL: which rows of a file are new, which change a stored row,
//! and how many are stored exactly as they are. The stores only carry out the plan.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// What an import does with each of its rows.
#[derive(Debug, PartialEq)]
pub(crate) struct ImportPlan<Id, T> {
    pub create: Vec<T>,
    /// The stored row's id and the values that replace its own.
    pub update: Vec<(Id, T)>,
    pub unchanged: usize,
}

/// Matches each row to the stored row with its key: none is a row to create, one with other
/// values a row to update, one with the same values is left alone.
pub(crate) fn plan_import<K: Eq + Hash, Id: Copy, T: PartialEq, S: BuildHasher>(
    rows: impl IntoIterator<Item = (K, T)>,
    stored: &HashMap<K, (Id, T), S>,
) -> ImportPlan<Id, T> {
    let mut plan = ImportPlan { create: Vec::new(), update: Vec::new(), unchanged: 0 };
    for (key, row) in rows {
        match stored.get(&key) {
            None => plan.create.push(row),
            Some((_, values)) if *values == row => plan.unchanged += 1,
            Some((id, _)) => plan.update.push((*id, row)),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_created_updated_or_left_alone_by_their_key() {
        let stored = HashMap::from([("A", (1, "alpha")), ("B", (2, "beta"))]);
        let plan = plan_import([("A", "alpha"), ("B", "BETA"), ("C", "gamma")], &stored);
        assert_eq!(plan, ImportPlan { create: vec!["gamma"], update: vec![(2, "BETA")], unchanged: 1 });
    }
}
