//! `--device cpu|cuda:N|metal` and `--dtype f32|bf16|f16`, as closed choices.

use std::str::FromStr;

use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where tensors live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Cuda(usize),
    Metal,
}

impl FromStr for DeviceSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "metal" => Ok(Self::Metal),
            "cuda" => Ok(Self::Cuda(0)),
            _ => match s.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(n)) => Ok(Self::Cuda(n)),
                _ => Err(Error::Device {
                    spec: s.into(),
                    msg: "expected cpu, cuda, cuda:N or metal".into(),
                }),
            },
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Metal => write!(f, "metal"),
        }
    }
}

impl DeviceSpec {
    /// Opens the device. A build without the backend's cargo feature says so; a build with
    /// it that finds no usable device (no driver, a driver stub, a device index that does not
    /// exist) says that instead.
    pub fn open(self) -> Result<Device> {
        let spec = self.to_string();
        let err = |e: candle_core::Error, built: bool, feature: &str, hint: &str| Error::Device {
            spec: spec.clone(),
            msg: if built {
                format!("{e} ({hint})")
            } else {
                format!("this binary was built without `--features {feature}` ({e})")
            },
        };
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda(n) => Device::new_cuda(n).map_err(|e| {
                let hint = format!(
                    "no usable CUDA device {n}: is the NVIDIA driver installed, does `nvidia-smi` \
                     list device {n}, and does the driver support the CUDA version this binary \
                     was built with?"
                );
                err(e, cfg!(feature = "cuda"), "cuda", &hint)
            }),
            Self::Metal => Device::new_metal(0).map_err(|e| {
                let built = cfg!(all(feature = "metal", target_os = "macos"));
                err(e, built, "metal", "no usable Metal device")
            }),
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The dtype weights are loaded in and the forward pass runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DTypeSpec {
    #[default]
    F32,
    Bf16,
    F16,
}

impl FromStr for DTypeSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            "f16" => Ok(Self::F16),
            _ => Err(Error::Device {
                spec: s.into(),
                msg: "dtype must be f32, bf16 or f16".into(),
            }),
        }
    }
}

impl From<DTypeSpec> for DType {
    fn from(d: DTypeSpec) -> DType {
        match d {
            DTypeSpec::F32 => DType::F32,
            DTypeSpec::Bf16 => DType::BF16,
            DTypeSpec::F16 => DType::F16,
        }
    }
}

/// Makes glibc's malloc keep freed memory for reuse. By default it gives the large,
/// short-lived activation and gradient buffers of every training step (and the KV caches of
/// generation) back to the kernel and faults them in again on the next step (measured on the
/// training bench: 16 s of 23 s in the kernel, steps 40% slower). With this, allocations up to
/// 32 MiB (glibc's maximum) come from the heap, which is never trimmed: peak memory is
/// unchanged, it is just not returned between steps. Call it first thing in `main`; a no-op
/// off Linux/glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_specs_parse() {
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("cuda:1".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(1));
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert!("gpu".parse::<DeviceSpec>().is_err());
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
    }

    /// A build without the CUDA feature says so (and a CUDA build that finds no device says
    /// that instead: checked on GPU-less CUDA builds, see README).
    #[test]
    fn a_missing_backend_is_named() {
        if cfg!(feature = "cuda") {
            return;
        }
        let e = DeviceSpec::Cuda(0).open().unwrap_err().to_string();
        assert!(e.contains("built without `--features cuda`"), "{e}");
    }
}
