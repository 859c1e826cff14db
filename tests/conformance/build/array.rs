//! Shape ops (shape.json) and tf.nn.embedding_lookup.

use super::Built;
use crate::support::attr_f64;
use serde_json::Value as Json;
use tensorgraph::{ops, DType, Graph, Tensor};

/// An integer attribute (`axis`, `depth`).
fn int(attrs: &Json, key: &str) -> Option<i64> {
    attrs.get(key).and_then(Json::as_i64)
}

/// A list of integers attribute (`shape`, `perm`, `begin`, ...).
fn ints(attrs: &Json, key: &str) -> Result<Option<Vec<i64>>, String> {
    match attrs.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| format!("{key}: {v} is not an integer"))
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(other) => Err(format!("{key}: expected a list, got {other}")),
    }
}

fn isizes(attrs: &Json, key: &str) -> Result<Vec<isize>, String> {
    Ok(ints(attrs, key)?
        .ok_or_else(|| format!("missing {key}"))?
        .iter()
        .map(|&v| v as isize)
        .collect())
}

fn usizes(attrs: &Json, key: &str) -> Result<Vec<usize>, String> {
    ints(attrs, key)?
        .ok_or_else(|| format!("missing {key}"))?
        .iter()
        .map(|&v| usize::try_from(v).map_err(|_| format!("{key}: {v} is negative")))
        .collect()
}

pub fn build(op: &str, attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    let axis = int(attrs, "axis").unwrap_or(0) as isize;
    let out = match op {
        "tf.reshape" => isizes(attrs, "shape").map(|s| vec![ops::reshape(x[0], s)]),
        "tf.transpose" => ints(attrs, "perm").map(|p| {
            let perm: Option<Vec<usize>> = p.map(|p| p.iter().map(|&a| a as usize).collect());
            vec![ops::transpose(x[0], perm.as_deref())]
        }),
        "tf.concat" => Ok(vec![ops::concat(x, axis)]),
        "tf.stack" => Ok(vec![ops::stack(x, axis)]),
        "tf.split" => match attrs.get("num_or_size_splits") {
            Some(Json::Number(n)) => n
                .as_u64()
                .map(|n| ops::split(x[0], n as usize, axis))
                .ok_or_else(|| format!("bad num_or_size_splits {n}")),
            _ => isizes(attrs, "num_or_size_splits").map(|s| ops::split(x[0], s, axis)),
        },
        "tf.slice" => usizes(attrs, "begin")
            .and_then(|b| Ok(vec![ops::slice(x[0], b, isizes(attrs, "size")?)])),
        "tf.strided_slice" => (|| {
            Ok(vec![ops::strided_slice(
                x[0],
                isizes(attrs, "begin")?,
                isizes(attrs, "end")?,
                isizes(attrs, "strides")?,
            )])
        })(),
        "tf.gather" => Ok(vec![ops::gather(x[0], x[1], axis)]),
        "tf.nn.embedding_lookup" => Ok(vec![ops::embedding_lookup(x[0], x[1])]),
        "tf.one_hot" => match int(attrs, "depth") {
            Some(depth) => {
                let dtype = match attrs.get("dtype").and_then(Json::as_str) {
                    Some(name) => DType::from_name(name),
                    None => Some(DType::Float32),
                };
                dtype
                    .map(|dt| {
                        let on = attr_f64(attrs, "on_value").unwrap_or(1.0);
                        let off = attr_f64(attrs, "off_value").unwrap_or(0.0);
                        vec![ops::one_hot_with(x[0], depth as usize, on, off, dt)]
                    })
                    .ok_or_else(|| format!("unsupported dtype {:?}", attrs["dtype"]))
            }
            None => Err("missing depth".into()),
        },
        "tf.tile" => usizes(attrs, "multiples").map(|m| vec![ops::tile(x[0], m)]),
        "tf.expand_dims" => Ok(vec![ops::expand_dims(x[0], axis)]),
        "tf.squeeze" => ints(attrs, "axis").map(|a| {
            let axes: Option<Vec<isize>> = a.map(|a| a.iter().map(|&v| v as isize).collect());
            vec![ops::squeeze(x[0], axes.as_deref())]
        }),
        "tf.pad" => match attrs.get("paddings").and_then(Json::as_array) {
            Some(rows) => rows
                .iter()
                .map(|r| {
                    match r
                        .as_array()
                        .map(|p| p.iter().filter_map(Json::as_u64).collect::<Vec<_>>())
                    {
                        Some(p) if p.len() == 2 => Ok([p[0] as usize, p[1] as usize]),
                        _ => Err(format!("bad paddings row {r}")),
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|p| {
                    vec![ops::pad(
                        x[0],
                        &p,
                        attr_f64(attrs, "constant_values").unwrap_or(0.0),
                    )]
                }),
            None => Err("missing paddings".into()),
        },
        _ => return None,
    };
    Some(out)
}
