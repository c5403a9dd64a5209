//! H.264 elementary stream handling: the `avcC` record, the sequence parameter set's fields
//! that decoding and colour conversion depend on, and MP4's length-prefixed NAL units to the
//! Annex B byte stream OpenH264 reads.

/// The `AVCDecoderConfigurationRecord` of an `avc1` / `avc3` sample entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct AvcConfig {
    /// Bytes of each NAL unit's length prefix in the samples (1, 2 or 4).
    pub length_size: usize,
    /// Sequence parameter sets (NAL units, header byte included).
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets.
    pub pps: Vec<Vec<u8>>,
}

impl AvcConfig {
    /// Parses an `avcC` payload.
    pub fn parse(data: &[u8]) -> Result<Self, String> {
        let short = || "the 'avcC' record is cut off".to_string();
        if data.len() < 6 {
            return Err(short());
        }
        if data[0] != 1 {
            return Err(format!(
                "'avcC' configuration version {} (expected 1)",
                data[0]
            ));
        }
        let length_size = usize::from(data[4] & 0x03) + 1;
        if length_size == 3 {
            return Err("'avcC' states 3-byte NAL lengths (only 1, 2 or 4 exist)".into());
        }
        let mut pos = 5;
        let read_sets = |count: usize, pos: &mut usize| -> Result<Vec<Vec<u8>>, String> {
            let mut sets = Vec::with_capacity(count);
            for _ in 0..count {
                let len = data
                    .get(*pos..*pos + 2)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                    .ok_or_else(short)?;
                let nal = data.get(*pos + 2..*pos + 2 + len).ok_or_else(short)?;
                sets.push(nal.to_vec());
                *pos += 2 + len;
            }
            Ok(sets)
        };
        let n_sps = usize::from(data[pos] & 0x1f);
        pos += 1;
        let sps = read_sets(n_sps, &mut pos)?;
        let n_pps = usize::from(*data.get(pos).ok_or_else(short)?);
        pos += 1;
        let pps = read_sets(n_pps, &mut pos)?;
        Ok(AvcConfig {
            length_size,
            sps,
            pps,
        })
    }
}

/// The NAL units of an MP4 sample (length-prefixed), as slices.
pub(crate) fn split_nals(sample: &[u8], length_size: usize) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < sample.len() {
        let head = sample
            .get(pos..pos + length_size)
            .ok_or_else(|| format!("a NAL unit length at byte {pos} of the sample is cut off"))?;
        let len = head.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        pos += length_size;
        let nal = sample.get(pos..pos + len).ok_or_else(|| {
            format!(
                "a NAL unit of {len} bytes at byte {pos} runs past the sample's {} bytes",
                sample.len()
            )
        })?;
        if !nal.is_empty() {
            out.push(nal);
        }
        pos += len;
    }
    Ok(out)
}

/// Appends NAL units to `out` as an Annex B byte stream (`00 00 00 01` before each).
pub(crate) fn annex_b<'a>(nals: impl IntoIterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    for nal in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
}

/// What the sequence parameter set says about the pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SpsInfo {
    pub profile_idc: u8,
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u32,
    pub bit_depth_luma: u32,
    pub bit_depth_chroma: u32,
    /// Progressive frames only (no field coding).
    pub frame_mbs_only: bool,
    /// `matrix_coefficients` of the VUI (2, unspecified, without colour description).
    pub matrix: u8,
    /// `video_full_range_flag` of the VUI (false without one).
    pub full_range: bool,
}

/// A reader of Exp-Golomb coded bits over an RBSP (emulation prevention removed).
struct Bits {
    data: Vec<u8>,
    pos: usize,
}

impl Bits {
    fn new(nal_payload: &[u8]) -> Self {
        let mut data = Vec::with_capacity(nal_payload.len());
        let mut zeros = 0;
        for &b in nal_payload {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            data.push(b);
        }
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Result<u32, String> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or_else(|| "the sequence parameter set is cut off".to_string())?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Result<u32, String> {
        (0..n).try_fold(0u32, |acc, _| Ok((acc << 1) | self.bit()?))
    }

    fn flag(&mut self) -> Result<bool, String> {
        Ok(self.bit()? == 1)
    }

    fn ue(&mut self) -> Result<u32, String> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err("an Exp-Golomb code of the sequence parameter set is too long".into());
            }
        }
        Ok(((1u64 << zeros) - 1 + u64::from(self.bits(zeros)?)) as u32)
    }

    fn se(&mut self) -> Result<i64, String> {
        let k = i64::from(self.ue()?);
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

impl SpsInfo {
    /// Parses a sequence parameter set NAL unit (header byte included).
    pub fn parse(nal: &[u8]) -> Result<Self, String> {
        if nal.first().map(|h| h & 0x1f) != Some(7) {
            return Err("not a sequence parameter set".into());
        }
        let mut r = Bits::new(&nal[1..]);
        let profile_idc = r.bits(8)? as u8;
        r.bits(16)?; // constraint flags, level_idc
        r.ue()?; // seq_parameter_set_id
        let (mut chroma_format_idc, mut bit_depth_luma, mut bit_depth_chroma) = (1, 8, 8);
        if matches!(
            profile_idc,
            100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
        ) {
            chroma_format_idc = r.ue()?;
            if chroma_format_idc == 3 {
                r.flag()?; // separate_colour_plane_flag
            }
            bit_depth_luma = r.ue()? + 8;
            bit_depth_chroma = r.ue()? + 8;
            r.flag()?; // qpprime_y_zero_transform_bypass_flag
            if r.flag()? {
                // seq_scaling_matrix_present_flag: skip the lists.
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.flag()? {
                        let size = if i < 6 { 16 } else { 64 };
                        let (mut last, mut next) = (8i64, 8i64);
                        for _ in 0..size {
                            if next != 0 {
                                next = (last + r.se()? + 256).rem_euclid(256);
                            }
                            if next != 0 {
                                last = next;
                            }
                        }
                    }
                }
            }
        }
        r.ue()?; // log2_max_frame_num_minus4
        match r.ue()? {
            0 => {
                r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
            }
            1 => {
                r.flag()?;
                r.se()?;
                r.se()?;
                let n = r.ue()?;
                if n > 255 {
                    return Err(format!("{n} reference frames in the POC cycle"));
                }
                for _ in 0..n {
                    r.se()?;
                }
            }
            _ => {}
        }
        r.ue()?; // max_num_ref_frames
        r.flag()?; // gaps_in_frame_num_value_allowed_flag
        r.ue()?; // pic_width_in_mbs_minus1
        r.ue()?; // pic_height_in_map_units_minus1
        let frame_mbs_only = r.flag()?;
        if !frame_mbs_only {
            r.flag()?; // mb_adaptive_frame_field_flag
        }
        r.flag()?; // direct_8x8_inference_flag
        if r.flag()? {
            for _ in 0..4 {
                r.ue()?; // frame cropping offsets
            }
        }
        let (mut matrix, mut full_range) = (2u8, false);
        if r.flag()? {
            // VUI
            if r.flag()? && r.bits(8)? == 255 {
                r.bits(32)?; // sar_width, sar_height
            }
            if r.flag()? {
                r.flag()?; // overscan_appropriate_flag
            }
            if r.flag()? {
                r.bits(3)?; // video_format
                full_range = r.flag()?;
                if r.flag()? {
                    r.bits(16)?; // colour_primaries, transfer_characteristics
                    matrix = r.bits(8)? as u8;
                }
            }
        }
        Ok(SpsInfo {
            profile_idc,
            chroma_format_idc,
            bit_depth_luma,
            bit_depth_chroma,
            frame_mbs_only,
            matrix,
            full_range,
        })
    }

    /// Why OpenH264 cannot decode this stream, if it cannot: it decodes 8-bit 4:2:0
    /// progressive streams (Constrained Baseline, Main and High profiles).
    pub fn unsupported(&self) -> Option<String> {
        if self.chroma_format_idc != 1 {
            let name = ["4:0:0 (monochrome)", "4:2:0", "4:2:2", "4:4:4"]
                .get(self.chroma_format_idc as usize)
                .copied()
                .unwrap_or("unknown");
            return Some(format!(
                "H.264 with {name} chroma (profile_idc {}); only 4:2:0 is supported",
                self.profile_idc
            ));
        }
        if self.bit_depth_luma != 8 || self.bit_depth_chroma != 8 {
            return Some(format!(
                "{}-bit H.264 (profile_idc {}); only 8-bit is supported",
                self.bit_depth_luma, self.profile_idc
            ));
        }
        if !self.frame_mbs_only {
            return Some(
                "interlaced (field-coded) H.264; only progressive frames are supported".into(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_splitting_and_annex_b() {
        let sample = [0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x06];
        let nals = split_nals(&sample, 4).unwrap();
        assert_eq!(nals, vec![&[0x65, 0xaa][..], &[0x06][..]]);
        let mut out = Vec::new();
        annex_b(nals, &mut out);
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xaa, 0, 0, 0, 1, 0x06]);
        assert!(split_nals(&[0, 0, 0, 9, 1], 4).is_err());
        assert!(split_nals(&[0, 0], 4).is_err());
    }

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3
        let mut b = Bits::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(
            (
                b.ue().unwrap(),
                b.ue().unwrap(),
                b.ue().unwrap(),
                b.ue().unwrap()
            ),
            (0, 1, 2, 3)
        );
        let b = Bits::new(&[0, 0, 3, 1, 0, 0, 3]);
        assert_eq!(b.data, [0, 0, 1, 0, 0]);
    }
}
