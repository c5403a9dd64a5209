//! The distillation term and its gradient against torch (tests/fixtures/distill,
//! scripts/make_distill_fixture.py: `kl_div` with log targets, `cross_entropy`), for every
//! loss, at a temperature and weight other than 1 and with a teacher probability of 0.

use candle_core::{DType, Device, Var};
use finetune::distill::{distill_term, DistillLoss};
use testkit::{fixtures, load_tensors, max_abs, max_abs_diff};

#[test]
fn every_loss_and_its_gradient_equal_torch() {
    let r = load_tensors(fixtures().join("distill/reference.safetensors"));
    let logits = Var::from_tensor(&r["logits"]).unwrap();
    let letters: Vec<u32> = r["letters"]
        .to_dtype(DType::U32)
        .unwrap()
        .to_vec1()
        .unwrap();
    let p: Vec<f64> = r["params"].to_vec1().unwrap();
    let (t, w) = (p[0], p[1]);
    for (name, kind) in [
        ("kl", DistillLoss::Kl),
        ("reverse_kl", DistillLoss::ReverseKl),
        ("jsd", DistillLoss::Jsd),
        ("label", DistillLoss::Label),
    ] {
        let v = distill_term(logits.as_tensor(), &letters, &r["teacher"], kind, t, w).unwrap();
        let got = v.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
        let want: f64 = r[&format!("{name}.value")].to_vec1::<f64>().unwrap()[0];
        let rel = (got - want).abs() / want.abs();
        let grads = v.backward().unwrap();
        let g = grads.get(logits.as_tensor()).unwrap();
        let want_g = &r[&format!("{name}.grad")];
        let dg = max_abs_diff(g, want_g) / max_abs(want_g);
        eprintln!("{name}: value {got:.6} (rel {rel:.1e}), gradient rel {dg:.1e}");
        assert!(rel <= 1e-5 && dg <= 1e-5, "{name}: {rel:e} {dg:e}");
    }
    // A student equal to the teacher has no divergence (and zero gradient).
    let teacher = candle_nn::ops::softmax(
        &r["logits"]
            .index_select(
                &candle_core::Tensor::new(letters.as_slice(), &Device::Cpu).unwrap(),
                1,
            )
            .unwrap(),
        1,
    )
    .unwrap();
    for kind in [DistillLoss::Kl, DistillLoss::ReverseKl, DistillLoss::Jsd] {
        let v = distill_term(logits.as_tensor(), &letters, &teacher, kind, 1.0, 1.0).unwrap();
        let v = v.to_scalar::<f32>().unwrap();
        assert!(v.abs() < 1e-5, "{kind:?}: {v}");
    }
}
