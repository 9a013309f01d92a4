//! State names: length and character rules, and "did you mean" suggestions for misspelt names.

/// Longest state name AWS accepts (<https://docs.aws.amazon.com/step-functions/latest/dg/state-machine-structure.html>).
pub(crate) const MAX_STATE_NAME: usize = 80;

/// What is wrong with a state name, if anything.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("state name is empty".to_owned());
    }
    let length = name.chars().count();
    if length > MAX_STATE_NAME {
        return Some(format!(
            "state name is {length} characters long; a state name can have at most {MAX_STATE_NAME} characters"
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!(
            "state name contains the control character U+{:04X}; names must be printable",
            c as u32
        ));
    }
    None
}

/// Edit distance between two strings, by characters: insertions, deletions, substitutions and
/// swaps of two neighbours each count as one (optimal string alignment distance).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one_edit() {
        assert_eq!(edit_distance("Strat", "Start"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggestions_are_close_names_only() {
        assert_eq!(
            suggest("Resultt", ["Result", "Next"].into_iter()),
            Some("Result")
        );
        assert_eq!(suggest("Zebra", ["Result", "Next"].into_iter()), None);
    }
}
