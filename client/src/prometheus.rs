//! The Prometheus text exposition format the daemons (keeper, miner) serve on `/metrics`.

/// Whether a value only grows or goes up and down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only grows (a `_total`).
    Counter,
    /// Any value.
    Gauge,
}

/// One metric: name, kind, help text and its current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The name (`cor_<daemon>_...`).
    pub name: &'static str,
    /// Counter or gauge.
    pub kind: Kind,
    /// One line of help.
    pub help: &'static str,
    /// The value as text (integers, decimals, or wide integers such as wei).
    pub value: String,
}

impl Metric {
    /// A counter.
    pub fn counter(name: &'static str, help: &'static str, value: impl ToString) -> Self {
        Self {
            name,
            kind: Kind::Counter,
            help,
            value: value.to_string(),
        }
    }

    /// A gauge.
    pub fn gauge(name: &'static str, help: &'static str, value: impl ToString) -> Self {
        Self {
            name,
            kind: Kind::Gauge,
            help,
            value: value.to_string(),
        }
    }
}

/// `metrics` in the text format: `# HELP`, `# TYPE` and the sample line for each.
pub fn exposition(metrics: &[Metric]) -> String {
    let mut out = String::new();
    for m in metrics {
        let kind = match m.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n",
            name = m.name,
            help = m.help,
            value = m.value
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_with_help_and_type() {
        let text = exposition(&[
            Metric::counter("cor_x_total", "Things.", 3),
            Metric::gauge("cor_y", "Level.", 1.5),
        ]);
        assert_eq!(
            text,
            "# HELP cor_x_total Things.\n# TYPE cor_x_total counter\ncor_x_total 3\n\
             # HELP cor_y Level.\n# TYPE cor_y gauge\ncor_y 1.5\n"
        );
    }
}
