# UperNet with SecViT-T, ADE20K, the Swin recipe the paper follows: 512x512 crops, 160k iterations,
# AdamW lr 6e-5, betas (0.9, 0.999), weight decay 0.01 (none on norms), 1500-iteration linear warmup
# from 1e-6 then poly (power 1.0) to 0, batch 16 (8 GPUs x 2). UPerHead (512 channels) on the four
# stage maps + an auxiliary FCN head (loss weight 0.4) on stage 3. Evaluation: IoUMetric (mIoU), the
# test image resized to (2048, 512) keeping its ratio. Everything but the backbone (and its norm-decay
# keys) is mmseg's Swin-T UperNet config.
_base_ = [
    './_base_/upernet_secvit_t_160k.py',  # model, schedule, runtime (mmseg's Swin-T UperNet but its data)
    './_base_/datasets/ade20k.py',  # data/ade/ADEChallengeData2016, 2 images per GPU
]
