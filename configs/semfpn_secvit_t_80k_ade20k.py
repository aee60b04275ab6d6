# Semantic FPN with SecViT-T, ADE20K, the PVT recipe the paper follows: 512x512 crops, 80k iterations,
# AdamW lr 1e-4, weight decay 1e-4, poly (power 0.9) to 0 without warmup, batch 16 (8 GPUs x 2).
# FPN (256 channels) on the four stage maps + FPNHead. Evaluation: IoUMetric (mIoU), the test image
# resized to (2048, 512) keeping its ratio.
_base_ = [
    './_base_/semfpn_secvit_t_80k.py',  # model, schedule, runtime
    './_base_/datasets/ade20k.py',  # data/ade/ADEChallengeData2016, 2 images per GPU
]
