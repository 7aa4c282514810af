//! Request body helpers shared by the REST handlers.

pub use domain::fields::Fields;
use serde_json::Value;

/// Overlays a PATCH body on the current representation, so PATCH and PUT share one validation.
pub fn merge_patch(current: Value, patch: Value) -> Value {
    match (current, patch) {
        (Value::Object(mut base), Value::Object(changes)) => {
            for (key, value) in changes {
                base.insert(key, value);
            }
            Value::Object(base)
        }
        (_, patch) => patch,
    }
}
