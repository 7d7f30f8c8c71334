//! Small formatting helpers for the human views.

use super::sanitize::sanitize;
use limier::query::ChainLink;

/// `45s`, `12m03s`, `3h12m`, `4d02h`.
pub fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `vite 48213 ← node 48201 ← pnpm 48190 (session leader) ← init 1  [orphaned]`
pub fn chain(links: &[ChainLink]) -> String {
    let mut parts = Vec::with_capacity(links.len());
    for (index, link) in links.iter().enumerate() {
        let mut part = format!("{} {}", sanitize(link.comm.as_bytes()), link.pid);
        let mut notes = Vec::new();
        if link.markers.session_leader && link.pid.0 != 1 {
            notes.push("session leader");
        } else if link.markers.group_leader && link.pid.0 != 1 {
            notes.push("group leader");
        }
        // The process itself orphaned is said once, by the `[orphaned]` tag.
        if link.markers.orphaned && index > 0 {
            notes.push("orphaned");
        }
        if !notes.is_empty() {
            part.push_str(&format!(" ({})", notes.join(", ")));
        }
        parts.push(part);
    }
    let mut text = parts.join(" ← ");
    if links.first().is_some_and(|l| l.markers.orphaned) {
        text.push_str("  [orphaned]");
    }
    text
}

/// Left-aligns the columns of `rows` (each a list of cells), two spaces apart.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5_000), "5s");
        assert_eq!(age(125_000), "2m05s");
        assert_eq!(age((3 * 3600 + 12 * 60) * 1000), "3h12m");
        assert_eq!(age((2 * 86_400 + 3600) * 1000), "2d01h");
    }

    #[test]
    fn table_aligns() {
        let rows = vec![
            vec!["PID".to_string(), "COMM".to_string()],
            vec!["1".to_string(), "init".to_string()],
        ];
        assert_eq!(table(&rows), "PID  COMM\n1    init\n");
    }
}
