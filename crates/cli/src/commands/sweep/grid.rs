//! The settings a sweep runs: `--grid key=v1,v2,...` axes, their combinations, and the
//! `--set` overrides each one stands for.

use std::fmt;

/// One `--grid` flag: a key and the values it takes, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// What `--set` would replace: a top-level `let` constant or a train-block line.
    pub key: String,
    /// The values, each a `--set key=value`.
    pub values: Vec<String>,
}

/// Why a `--grid` flag cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub struct GridError(String);

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Axis {
    /// Reads `key=v1,v2,...`. Values are split at the commas that are outside brackets,
    /// parentheses and quotes, so `optimizer=sgd(lr: 0.1, momentum: 0.9),adam(lr: 1e-3)`
    /// has two values.
    pub fn parse(flag: &str) -> Result<Axis, GridError> {
        let Some((key, values)) = flag.split_once('=') else {
            return Err(GridError(format!(
                "--grid {flag}: expected KEY=V1,V2,... (e.g. --grid hidden=64,128)"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(GridError(format!("--grid {flag}: the key is empty")));
        }
        let values = split_top_level(values)?;
        if let Some(empty) = values.iter().position(String::is_empty) {
            return Err(GridError(format!(
                "--grid {flag}: value {} is empty",
                empty + 1
            )));
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }
}

/// `text` split at top-level commas, each part trimmed.
fn split_top_level(text: &str) -> Result<Vec<String>, GridError> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    GridError(format!("--grid ...={text}: a `{c}` closes nothing"))
                })?;
            }
            ',' if !quoted && depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().expect("one part at least").push(c);
    }
    if quoted || depth > 0 {
        return Err(GridError(format!(
            "--grid ...={text}: a quote or bracket is not closed"
        )));
    }
    Ok(parts.into_iter().map(|p| p.trim().to_string()).collect())
}

/// One combination: a value for every axis, as `(key, value)` pairs in the axes' order.
pub type Setting = Vec<(String, String)>;

/// Every combination of the axes' values, the first axis varying slowest (as nested
/// loops in flag order); one empty setting when there are no axes. Fails on a key given
/// twice.
pub fn combinations(axes: &[Axis]) -> Result<Vec<Setting>, GridError> {
    for (i, axis) in axes.iter().enumerate() {
        if axes[..i].iter().any(|a| a.key == axis.key) {
            return Err(GridError(format!(
                "--grid {}: the key is given twice; list all its values in one flag",
                axis.key
            )));
        }
    }
    let mut settings: Vec<Setting> = vec![vec![]];
    for axis in axes {
        settings = settings
            .into_iter()
            .flat_map(|s| {
                axis.values.iter().map(move |v| {
                    let mut next = s.clone();
                    next.push((axis.key.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    Ok(settings)
}

/// `key=value, key=value` for people (`(the file as it is)` for no setting).
pub fn describe(setting: &Setting) -> String {
    if setting.is_empty() {
        return "(the file as it is)".into();
    }
    setting
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_top_level_commas_only() {
        let axis = Axis::parse("optimizer=sgd(lr: 0.1, momentum: 0.9), adam(lr: 1e-3)").unwrap();
        assert_eq!(axis.key, "optimizer");
        assert_eq!(
            axis.values,
            ["sgd(lr: 0.1, momentum: 0.9)", "adam(lr: 1e-3)"]
        );
        let axis = Axis::parse(r#"save="a,b.safetensors","c""#).unwrap();
        assert_eq!(axis.values, [r#""a,b.safetensors""#, r#""c""#]);
        assert_eq!(Axis::parse("hidden=64").unwrap().values, ["64"]);
    }

    #[test]
    fn malformed_flags_are_errors_that_say_what_is_wrong() {
        let err = |flag: &str| Axis::parse(flag).unwrap_err().to_string();
        assert_eq!(
            err("hidden"),
            "--grid hidden: expected KEY=V1,V2,... (e.g. --grid hidden=64,128)"
        );
        assert_eq!(err("=1,2"), "--grid =1,2: the key is empty");
        assert_eq!(
            err("hidden=64,,128"),
            "--grid hidden=64,,128: value 2 is empty"
        );
        assert_eq!(
            err("optimizer=sgd(lr: 0.1"),
            "--grid ...=sgd(lr: 0.1: a quote or bracket is not closed"
        );
        assert_eq!(err("x=1)"), "--grid ...=1): a `)` closes nothing");
    }

    #[test]
    fn combinations_vary_the_first_axis_slowest() {
        let axes = [
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=x,y,z").unwrap(),
        ];
        let all = combinations(&axes).unwrap();
        let described: Vec<String> = all.iter().map(describe).collect();
        assert_eq!(
            described,
            ["a=1, b=x", "a=1, b=y", "a=1, b=z", "a=2, b=x", "a=2, b=y", "a=2, b=z"]
        );
        assert_eq!(combinations(&[]).unwrap(), vec![Setting::new()]);
        let twice = [Axis::parse("a=1").unwrap(), Axis::parse("a=2").unwrap()];
        assert_eq!(
            combinations(&twice).unwrap_err().to_string(),
            "--grid a: the key is given twice; list all its values in one flag"
        );
    }
}
