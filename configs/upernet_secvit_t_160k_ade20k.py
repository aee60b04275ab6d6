# UperNet with SecViT-T, ADE20K, the Swin recipe the paper follows: 512x512 crops, 160k iterations,
# AdamW lr 6e-5, betas (0.9, 0.999), weight decay 0.01 (none on norms), 1500-iteration linear warmup
# from 1e-6 then poly (power 1.0) to 0, batch 16 (8 GPUs x 2). UPerHead (512 channels) on the four
# stage maps + an auxiliary FCN head (loss weight 0.4) on stage 3. Evaluation: IoUMetric (mIoU), the
# test image resized to (2048, 512) keeping its ratio. Everything but the backbone (and its norm-decay
# keys) is mmseg's Swin-T UperNet config.
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
    './_base_/secvit_ade20k_runtime.py',  # custom_imports, RNGStateHook, whole / slide test
]

# ImageNet-1k weights converted by tools/convert_secvit.py (README, "Pretrained weights").
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/secvit_t_in1k.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SecViT',
        arch='tiny',
        num_clusters=(32, 8, 2, None),  # the paper's; linear cost: --cfg-options model.backbone.cluster_size=98
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3,  # not stated for ADE20K: Swin's UperNet rate (0.3 for T, S and B)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=[64, 128, 256, 512], num_classes=150),
    auxiliary_head=dict(in_channels=256, num_classes=150),
    test_cfg={{_base_.whole_or_slide}})

optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,  # the Swin keys (pos embeds, bias tables) do not exist here
        norm_decay_mult=0.,
        custom_keys={'layer_scale': dict(decay_mult=0.)}))
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
