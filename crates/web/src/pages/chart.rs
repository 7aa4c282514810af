//! The data of one chart, embedded in a page as JSON for `assets/kizuna.js` to draw with the
//! vendored Chart.js (the page's content security policy allows no inline script).

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    pub label: String,
    /// Numbers, or `[low, high]` pairs for floating bars (a waterfall).
    pub data: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// One colour per bar, when bars differ (grades, gains and losses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colours: Option<Vec<String>>,
    /// `line` on a bar chart.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// `y2` for the right-hand axis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub axis: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stepped: bool,
}

impl Dataset {
    pub fn new(label: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Dataset {
        Dataset {
            label: label.into(),
            data: values.into_iter().map(number).collect(),
            colour: None,
            colours: None,
            kind: None,
            axis: None,
            stepped: false,
        }
    }

    /// Values that may be missing (no data, or a ratio without a denominator) leave gaps.
    pub fn sparse(label: impl Into<String>, values: impl IntoIterator<Item = Option<f64>>) -> Dataset {
        let mut dataset = Dataset::new(label, []);
        dataset.data = values.into_iter().map(|v| v.map_or(serde_json::Value::Null, number)).collect();
        dataset
    }

    pub fn floating(label: impl Into<String>, ranges: impl IntoIterator<Item = (f64, f64)>) -> Dataset {
        let mut dataset = Dataset::new(label, []);
        dataset.data = ranges.into_iter().map(|(low, high)| serde_json::json!([number(low), number(high)])).collect();
        dataset
    }

    pub fn colour(mut self, colour: &str) -> Dataset {
        self.colour = Some(colour.to_owned());
        self
    }

    pub fn colours(mut self, colours: Vec<String>) -> Dataset {
        self.colours = Some(colours);
        self
    }

    pub fn drawn_as_line(mut self) -> Dataset {
        self.kind = Some("line");
        self
    }

    pub fn on_right_axis(mut self) -> Dataset {
        self.axis = Some("y2");
        self
    }

    pub fn stepped(mut self) -> Dataset {
        self.stepped = true;
        self
    }
}

fn number(value: f64) -> serde_json::Value {
    serde_json::Number::from_f64((value * 100.0).round() / 100.0).map_or(serde_json::Value::Null, Into::into)
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chart {
    /// The id of the `<script type="application/json">` element holding this chart.
    #[serde(skip)]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub labels: Vec<String>,
    pub datasets: Vec<Dataset>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stacked: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub percent: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sparkline: bool,
    /// Amounts of money: the axis reads 1.2億 / 3,500万 in Japanese and 120M / 35K in English.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub money: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y2: Option<&'static str>,
    pub begin_at_zero: bool,
}

impl Chart {
    pub fn new(id: &str, kind: &'static str, labels: Vec<String>, datasets: Vec<Dataset>) -> Chart {
        Chart {
            id: id.to_owned(),
            kind,
            labels,
            datasets,
            stacked: false,
            percent: false,
            sparkline: false,
            money: false,
            y2: None,
            begin_at_zero: true,
        }
    }

    pub fn bar(id: &str, labels: Vec<String>, datasets: Vec<Dataset>) -> Chart {
        Chart::new(id, "bar", labels, datasets)
    }

    pub fn line(id: &str, labels: Vec<String>, datasets: Vec<Dataset>) -> Chart {
        Chart::new(id, "line", labels, datasets)
    }

    pub fn percent(mut self) -> Chart {
        self.percent = true;
        self
    }

    pub fn money(mut self) -> Chart {
        self.money = true;
        self
    }

    pub fn stacked(mut self) -> Chart {
        self.stacked = true;
        self
    }

    pub fn sparkline(mut self) -> Chart {
        self.sparkline = true;
        self.begin_at_zero = false;
        self
    }

    pub fn with_right_axis(mut self, unit: &'static str) -> Chart {
        self.y2 = Some(unit);
        self
    }

    /// The JSON to place inside `<script type="application/json">`: `<`, `>` and `&` are escaped
    /// so that no label can end the element early.
    pub fn json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| "null".into())
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_close_the_script_element() {
        let chart = Chart::bar("c", vec!["</script><b>".into()], vec![Dataset::new("a&b", [1.0])]);
        let json = chart.json();
        assert!(!json.contains('<') && !json.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["labels"][0], "</script><b>");
        assert_eq!(back["datasets"][0]["label"], "a&b");
    }

    #[test]
    fn missing_values_leave_gaps_and_numbers_keep_two_decimals() {
        let json = Chart::line("c", vec![], vec![Dataset::sparse("x", [Some(1.234), None])]).json();
        assert!(json.contains("[1.23,null]"), "{json}");
    }
}
