#!/usr/bin/env python3
"""Golden fixtures for the video modality (Qwen2-VL), from the pinned reference environment.

    /path/to/venv-ref/bin/pip install pillow==13.0.0                 # as make_vision_fixtures.py
    /path/to/venv-ref/bin/pip install --no-deps torchvision==0.26.0
    /path/to/venv-ref/bin/pip install av==18.1.0 qwen-vl-utils==0.0.14
    /path/to/venv-ref/bin/python scripts/make_video_fixtures.py

PyAV 18.1.0 bundles FFmpeg 8 (libavcodec 62.28, libswscale 9.5) and libx264.

The reference pipeline is the one Qwen2-VL's model card gives: qwen_vl_utils' `fetch_video` (read,
sample frames, resize every frame with torchvision's antialiased bicubic on uint8), then
transformers' `Qwen2VLVideoProcessor` (4.57.6). qwen_vl_utils reads files with torchcodec, decord
or `torchvision.io.read_video`; none of them is installable here (torchvision 0.26 dropped
`read_video`, torchcodec needs system FFmpeg libraries, decord is unmaintained), so this script
registers a PyAV reader that does what the decord / torchcodec readers do (every frame decoded to
RGB, `calculate_video_frame_range`, `smart_nframes`, `torch.linspace(start, end, n).round()`) and
runs qwen_vl_utils' own `fetch_video` with it. Frames are `VideoFrame.to_ndarray(format="rgb24")`:
FFmpeg's H.264 decoder and libswscale's YUV -> RGB.

Writes tests/fixtures/vision/video/:
  clip.mp4          30 procedurally drawn frames of 78x46 (not a multiple of 16: the SPS crops),
                    3 s at 10 fps, H.264 High profile with B-frames (libx264 defaults), moov first
  clip_mpeg4.mp4    a few frames in MPEG-4 Part 2 (mp4v): a valid MP4 that is not H.264
  clip_bt709_full.mp4
                    four frames whose SPS says BT.709 matrix, full range (bt709.frames: decoded)
  frames/           five 61x45 PNG frames, the third RGBA with partial alpha (qwen_vl_utils
                    composites it on white)
  reference.safetensors, cases.json
    mp4.frames            uint8 [30, 46, 78, 3]: every decoded frame, presentation order
    mp4.indices           int64: fetch_video's frame indices (options in cases.json)
    mp4.fetched           uint8 [n, H, W, 3]: fetch_video's frames (its float tensor holds
                          whole numbers)
    mp4.pixel_values_videos, mp4.video_grid_thw
                          the model directory's video processor on them
    mp4_small.*           a processor with max_pixels 3136 on the same fetched frames: its
                          smart_resize disagrees, so it resizes the float frames again
    frames_u8.*           the small processor on three decoded frames as uint8 (torchvision's
                          uint8 resize; odd count: the last frame is repeated)
    folder.rgb            uint8 [5, 45, 61, 3]: the folder's frames as fetch_image reads them
    folder.fetched, folder.pixel_values_videos, folder.video_grid_thw
    resize.src, resize.{v1,v2,f32}.<W>x<H>
                          torchvision's resize(BICUBIC, antialias=True) of a 60x40 picture:
                          v1 functional on uint8 (through float32: what fetch_video calls), v2
                          on uint8 (native uint8 kernel: the processor on uint8 frames), v2 on
                          float32 (the processor on fetch_video's float frames)
    one_video.*, image_and_video.*
                          the tiny Qwen2VLForConditionalGeneration of ../model (made by
                          make_vision_fixtures.py): input_ids with <|video_pad|> expanded, 3-D
                          position ids of get_rope_index, the vision tower's output for the
                          video (`visual_video`; `visual_image` for the image), logits at every
                          position. Their patches are mp4.* / folder.* (video) and
                          ../reference.safetensors' small.pixel_values (image), checked equal.
"""

import json
import os
from pathlib import Path

import av
import numpy as np
import qwen_vl_utils
import qwen_vl_utils.vision_process as vp
import torch
import transformers
from PIL import Image, ImageDraw
from safetensors.numpy import load_file
from safetensors.torch import save_file
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF
from torchvision.transforms.v2 import functional as TF2
from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

ROOT = Path(__file__).resolve().parent.parent
VISION = ROOT / "tests/fixtures/vision"
MODEL = VISION / "model"
OUT = VISION / "video"

W, H, N, FPS = 78, 46, 30, 10
MP4_OPTIONS = {"min_pixels": 3136, "max_pixels": 9408}
CLIP_OPTIONS = {"nframes": 4, "video_start": 0.5, "video_end": 2.5}
FOLDER_OPTIONS = {"min_pixels": 3136, "max_pixels": 9408}
SMALL_PROCESSOR = {"min_pixels": 3136, "max_pixels": 3136}
# (width, height) of the resize cases, from 60x40: down (many taps), mixed, up.
RESIZES = [(28, 28), (13, 9), (90, 30), (61, 97)]


def frame(i, rng):
    """A moving picture: drifting stripes and waves, a red box crossing it, some noise."""
    y, x = np.mgrid[0:H, 0:W]
    t = i / N
    img = np.stack(
        [
            128 + 100 * np.sin(x / 6.0 + 6 * t),
            128 + 100 * np.cos(y / 5.0 - 4 * t),
            255 * ((x + y + i * 3) % 40) / 40,
        ],
        axis=-1,
    )
    cx, cy = int(10 + 50 * t), int(8 + 25 * t)
    img[max(cy - 6, 0) : cy + 6, max(cx - 8, 0) : cx + 8] = [250, 30, 40]
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(path, frames, codec, options):
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        s = out.add_stream(codec, rate=FPS)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = options
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def read_video_pyav(ele):
    """A qwen_vl_utils reader backend on PyAV, doing what `_read_video_decord` does."""
    with av.open(ele["video"]) as c:
        st = c.streams.video[0]
        video_fps = float(st.average_rate)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(st)]
        assert st.frames == len(frames), (st.frames, len(frames))
    total = len(frames)
    start, end, total = vp.calculate_video_frame_range(ele, total, video_fps)
    nframes = vp.smart_nframes(ele, total_frames=total, video_fps=video_fps)
    idx = torch.linspace(start, end, nframes).round().long().tolist()
    video = torch.from_numpy(np.stack([frames[i] for i in idx])).permute(0, 3, 1, 2)
    sample_fps = nframes / max(total, 1e-6) * video_fps
    meta = dict(fps=video_fps, frames_indices=idx, total_num_frames=total, video_backend="pyav")
    return video, meta, sample_fps


vp.VIDEO_READER_BACKENDS["pyav"] = read_video_pyav
vp.FORCE_QWENVL_VIDEO_READER = "pyav"
vp.get_video_reader_backend.cache_clear()


def fetch(ele):
    (video, meta), sample_fps = vp.fetch_video(
        ele, return_video_sample_fps=True, return_video_metadata=True
    )
    assert torch.equal(video, video.round()), "fetch_video's frames are whole numbers"
    return video, meta, sample_fps


def hwc_u8(video):
    """[T, C, H, W] float (whole numbers) -> uint8 [T, H, W, C]."""
    return video.permute(0, 2, 3, 1).to(torch.uint8).contiguous()


def draw_folder():
    (OUT / "frames").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    files = []
    for i in range(5):
        y, x = np.mgrid[0:45, 0:61]
        img = np.stack([x * 4 + i * 20, y * 5, 255 - x * 3 - y], -1) + rng.normal(0, 8, (45, 61, 3))
        pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(pil)
        d.ellipse([5 + 8 * i, 5, 25 + 8 * i, 30], fill=(30, 200, 60))
        if i == 2:
            alpha = Image.fromarray(np.clip(x * 5, 0, 255).astype(np.uint8), "L")
            pil = pil.convert("RGBA")
            pil.putalpha(alpha)
        path = OUT / "frames" / f"frame_{i + 1:02d}.png"
        pil.save(path)
        files.append(path)
    return files


def pixel_case(tensors, key, out):
    tensors[f"{key}.pixel_values_videos"] = out["pixel_values_videos"].float()
    tensors[f"{key}.video_grid_thw"] = out["video_grid_thw"].to(torch.int64)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tensors, cases = {}, {}
    rng = np.random.default_rng(3)
    src = [frame(i, rng) for i in range(N)]
    encode(OUT / "clip.mp4", src, "libx264", {"crf": "23", "preset": "medium"})
    encode(OUT / "clip_mpeg4.mp4", src[:4], "mpeg4", {"qscale": "10"})
    encode(
        OUT / "clip_bt709_full.mp4",
        src[:4],
        "libx264",
        {"crf": "23", "x264-params": "colormatrix=bt709:fullrange=on"},
    )
    with av.open(str(OUT / "clip_bt709_full.mp4")) as c:
        frames709 = list(c.decode(video=0))
        assert (frames709[0].colorspace, frames709[0].color_range) == (1, 2), "BT.709, full range"
        tensors["bt709.frames"] = torch.from_numpy(
            np.stack([f.to_ndarray(format="rgb24") for f in frames709])
        )

    # Every decoded frame, as the reader gives them.
    with av.open(str(OUT / "clip.mp4")) as c:
        st = c.streams.video[0]
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(st)]
        cc = st.codec_context
        cases["mp4"] = {
            "file": "clip.mp4",
            "frames": len(decoded),
            "fps": float(st.average_rate),
            "profile": cc.profile,
            "size": [W, H],
            "options": MP4_OPTIONS,
        }
    tensors["mp4.frames"] = torch.from_numpy(np.stack(decoded))

    video_proc = Qwen2VLVideoProcessor.from_pretrained(MODEL)
    small_proc = Qwen2VLVideoProcessor(**SMALL_PROCESSOR)

    video, meta, sample_fps = fetch({"video": str(OUT / "clip.mp4"), **MP4_OPTIONS})
    tensors["mp4.indices"] = torch.tensor(meta["frames_indices"], dtype=torch.int64)
    tensors["mp4.fetched"] = hwc_u8(video)
    cases["mp4"].update(
        {"indices": meta["frames_indices"], "video_fps": meta["fps"], "sample_fps": sample_fps}
    )
    pixel_case(tensors, "mp4", video_proc(videos=[video], return_tensors="pt"))
    pixel_case(tensors, "mp4_small", small_proc(videos=[video], return_tensors="pt"))
    mp4_video = video

    # A clip with a time range and a frame count: indices only.
    _, meta, sample_fps = fetch({"video": str(OUT / "clip.mp4"), **CLIP_OPTIONS})
    cases["mp4_clip"] = {
        "options": CLIP_OPTIONS,
        "indices": meta["frames_indices"],
        "total_frames": meta["total_num_frames"],
        "sample_fps": sample_fps,
    }

    # The processor on uint8 frames (three decoded frames, source size).
    u8 = torch.from_numpy(np.stack(decoded[:3])).permute(0, 3, 1, 2)
    pixel_case(tensors, "frames_u8", small_proc(videos=[u8], return_tensors="pt"))

    # A folder of frames, as a list of image files.
    files = draw_folder()
    ele = {"video": [str(f) for f in files], **FOLDER_OPTIONS}
    video, meta, sample_fps = fetch(ele)
    tensors["folder.rgb"] = torch.from_numpy(
        np.stack([np.asarray(vp.to_rgb(Image.open(f))) for f in files])
    )
    tensors["folder.fetched"] = hwc_u8(video)
    pixel_case(tensors, "folder", video_proc(videos=[video], return_tensors="pt"))
    cases["folder"] = {
        "dir": "frames",
        "files": [f.name for f in files],
        "options": FOLDER_OPTIONS,
        "sample_fps": sample_fps,
    }
    folder_video = video

    # torchvision's antialiased bicubic: v1 on uint8 (through float32, as fetch_video calls
    # it), v2 on uint8 (native uint8 kernel, as the processor calls it on uint8 frames), and
    # on float32 (the processor on fetch_video's frames); channels-last, as in the pipeline.
    y, x = np.mgrid[0:40, 0:60]
    rs = np.stack([x * 4, y * 6, (x * y) % 256], -1) + np.random.default_rng(5).normal(0, 20, (40, 60, 3))
    rs = np.clip(rs, 0, 255).astype(np.uint8)
    tensors["resize.src"] = torch.from_numpy(rs)
    t_u8 = torch.from_numpy(rs).permute(2, 0, 1)[None]
    bicubic = InterpolationMode.BICUBIC
    for w, h in RESIZES:
        r = TF.resize(t_u8, [h, w], interpolation=bicubic, antialias=True)
        tensors[f"resize.v1.{w}x{h}"] = r[0].permute(1, 2, 0).contiguous()
        r = TF2.resize(t_u8, [h, w], interpolation=bicubic, antialias=True)
        tensors[f"resize.v2.{w}x{h}"] = r[0].permute(1, 2, 0).contiguous()
        r = TF2.resize(t_u8.float(), [h, w], interpolation=bicubic, antialias=True)
        tensors[f"resize.f32.{w}x{h}"] = r[0].permute(1, 2, 0).contiguous()

    # The tiny model on video prompts.
    model = Qwen2VLForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(MODEL)
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor.from_pretrained(MODEL),
        tokenizer=tok,
        video_processor=video_proc,
        chat_template=(MODEL / "chat_template.jinja").read_text(),
    )
    image = Image.open(VISION / "images/small.png").convert("RGB")
    old = load_file(str(VISION / "reference.safetensors"))
    with torch.no_grad():
        # The reloaded model is the one make_vision_fixtures.py saved: same logits.
        enc = processor(
            text=[json.loads((VISION / "cases.json").read_text())["prompts"][0]["templated"]],
            images=[Image.open(VISION / "images/wide.jpg").convert("RGB")],
            return_tensors="pt",
        )
        diff = (model(**enc).logits[0] - torch.from_numpy(old["one_image.logits"])).abs().max()
        assert diff < 1e-4, f"reloaded model differs: {diff}"

    prompts = [
        ("one_video", [], [mp4_video], [{"type": "video"}], "What happens?"),
        (
            "image_and_video",
            [image],
            [folder_video],
            [{"type": "image"}, {"type": "video"}],
            "Compare them.",
        ),
    ]
    cases["prompts"] = []
    for name, images, videos, content, text in prompts:
        content = content + [{"type": "text", "text": text}]
        templated = processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )
        enc = processor(
            text=[templated], images=images or None, videos=videos, return_tensors="pt"
        )
        with torch.no_grad():
            pos, _ = model.model.get_rope_index(
                enc["input_ids"],
                enc.get("image_grid_thw"),
                enc["video_grid_thw"],
                enc["attention_mask"],
            )
            logits = model(**enc).logits[0]
            tensors[f"{name}.visual_video"] = model.model.visual(
                enc["pixel_values_videos"], grid_thw=enc["video_grid_thw"]
            ).float()
            if images:
                tensors[f"{name}.visual_image"] = model.model.visual(
                    enc["pixel_values"], grid_thw=enc["image_grid_thw"]
                ).float()
                tensors[f"{name}.image_grid_thw"] = enc["image_grid_thw"].to(torch.int64)
        # The prompt's patches are the ones stored above (not stored twice).
        key = "mp4" if name == "one_video" else "folder"
        assert torch.equal(enc["pixel_values_videos"], tensors[f"{key}.pixel_values_videos"])
        assert torch.equal(enc["video_grid_thw"], tensors[f"{key}.video_grid_thw"])
        if images:
            assert torch.equal(enc["pixel_values"], torch.from_numpy(old["small.pixel_values"]))
        tensors[f"{name}.input_ids"] = enc["input_ids"][0].to(torch.int64)
        tensors[f"{name}.position_ids"] = pos[:, 0, :].to(torch.int64)
        tensors[f"{name}.logits"] = logits.float()
        cases["prompts"].append(
            {
                "name": name,
                "images": ["images/small.png"] if images else [],
                "videos": ["video/clip.mp4" if name == "one_video" else "video/frames"],
                "video_options": MP4_OPTIONS if name == "one_video" else FOLDER_OPTIONS,
                "text": text,
                "templated": templated,
            }
        )

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT / "reference.safetensors"))
    cases["versions"] = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "pillow": Image.__version__,
        "av": av.__version__,
        "ffmpeg_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
        "qwen_vl_utils": "0.0.14",
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    cases["processors"] = {
        "model": "Qwen2VLVideoProcessor.from_pretrained(model) (video_preprocessor_config.json)",
        "small": SMALL_PROCESSOR,
    }
    cases["tensors"] = {k: [str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in tensors.items()}
    (OUT / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    total = sum(os.path.getsize(p) for p in OUT.rglob("*") if p.is_file())
    print("wrote", OUT, total, "bytes; qwen_vl_utils", qwen_vl_utils.__file__)


if __name__ == "__main__":
    main()
