"""Bitwise fingerprint of mmcv's CPU ops, to show that a different build of the same mmcv computes the same.

    python tools/dev/mmcv_ops_fingerprint.py save FILE      # with the mmcv built as before
    python tools/dev/mmcv_ops_fingerprint.py compare FILE   # with the newly built one

Runs every op that mmcv 2.1.0 implements on the CPU (the ``cpu/*.cpp`` sources: each registered CPU
kernel, forward and, where there is one, backward; the sparse-conv CPU functors are not reachable from
Python in a CPU build) on seeded inputs, and stores or compares the
results with ``torch.equal``. Exit 1 naming each op whose results differ. One thread, so the results
do not depend on the machine's core count.
"""
import sys
from typing import Callable, Dict, List

import torch


def _boxes(g: torch.Generator, n: int, size: float = 64.) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 2 + 1
    return torch.cat([xy, xy + wh], dim=1)


def _rboxes(g: torch.Generator, n: int) -> torch.Tensor:
    """(cx, cy, w, h, angle) boxes."""
    c = torch.rand(n, 2, generator=g) * 64
    wh = torch.rand(n, 2, generator=g) * 30 + 2
    return torch.cat([c, wh, (torch.rand(n, 1, generator=g) - .5) * 3], dim=1)


def _quads(g: torch.Generator, n: int) -> torch.Tensor:
    r = _rboxes(g, n)
    cos, sin = r[:, 4].cos(), r[:, 4].sin()
    corners = []
    for sx, sy in ((-.5, -.5), (.5, -.5), (.5, .5), (-.5, .5)):
        dx, dy = sx * r[:, 2], sy * r[:, 3]
        corners += [r[:, 0] + dx * cos - dy * sin, r[:, 1] + dx * sin + dy * cos]
    return torch.stack(corners, dim=1)


def _fwd_bwd(fn: Callable, *inputs: torch.Tensor) -> List[torch.Tensor]:
    """The op's output and the gradient of each input that requires one (upstream gradient: seeded)."""
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    grads = [t for t in inputs if isinstance(t, torch.Tensor) and t.requires_grad]
    if grads:
        g = torch.Generator().manual_seed(7)
        upstream = [torch.randn(o.shape, generator=g) for o in outs if o.is_floating_point()]
        torch.autograd.backward([o for o in outs if o.is_floating_point()], upstream)
        outs += [t.grad for t in grads]
    return [o.detach().clone() for o in outs]


def cases() -> Dict[str, Callable[[torch.Generator], List[torch.Tensor]]]:
    from mmcv import ops

    def nms_family(g):
        boxes, scores = _boxes(g, 200), torch.rand(200, generator=g)
        idxs = torch.randint(0, 5, (200,), generator=g)
        dets = torch.cat([boxes, scores[:, None]], dim=1)
        return [*ops.nms(boxes, scores, 0.5), *ops.nms(boxes, scores, 0.3, offset=1),
                *ops.soft_nms(boxes, scores, 0.3, method='linear'),
                *ops.soft_nms(boxes, scores, 0.3, sigma=0.5, method='gaussian'),
                *ops.batched_nms(boxes, scores, idxs, dict(type='nms', iou_threshold=0.5)),
                *[torch.as_tensor(m) for m in ops.nms_match(dets, 0.4)]]

    def rotated_family(g):
        r, s = _rboxes(g, 120), torch.rand(120, generator=g)
        q = _quads(g, 60)
        qs = torch.rand(60, generator=g)
        return [*ops.nms_rotated(r, s, 0.3), ops.box_iou_rotated(r[:40], r[40:90]),
                ops.box_iou_rotated(r[:40], r[:40], aligned=True, mode='iof'),
                ops.box_iou_quadri(q[:20], q[20:50]), *ops.nms_quadri(q, qs, 0.3)]

    def bbox_overlaps(g):
        a, b = _boxes(g, 50), _boxes(g, 30)
        return [ops.bbox_overlaps(a, b), ops.bbox_overlaps(a[:30], b, aligned=True, mode='iof', offset=1)]

    def rois(g, n=12):
        return torch.cat([torch.randint(0, 2, (n, 1), generator=g).float(), _boxes(g, n, 28.)], dim=1)

    def roi_align(g):
        x = torch.randn(2, 4, 16, 16, generator=g, requires_grad=True)
        r = rois(g)
        out = _fwd_bwd(lambda x: ops.roi_align(x, r, (5, 5), 0.5, 2, 'avg', True), x)
        x2 = torch.randn(2, 4, 16, 16, generator=g, requires_grad=True)
        return out + _fwd_bwd(lambda x: ops.roi_align(x, r, (4, 3), 0.5, 0, 'max', False), x2)

    def roi_align_rotated(g):
        x = torch.randn(2, 4, 16, 16, generator=g, requires_grad=True)
        r = torch.cat([torch.randint(0, 2, (10, 1), generator=g).float(), _rboxes(g, 10) / 2], dim=1)
        return _fwd_bwd(lambda x: ops.roi_align_rotated(x, r, (4, 4), 0.5, 2, True, False), x)

    def bezier_align(g):
        x = torch.randn(1, 3, 16, 16, generator=g, requires_grad=True)
        ctrl = torch.rand(6, 16, generator=g) * 30
        r = torch.cat([torch.zeros(6, 1), ctrl], dim=1)
        return _fwd_bwd(lambda x: ops.bezier_align(x, r, (4, 8), 0.5, 2, True), x)

    def deform_conv(g):
        x = torch.randn(2, 4, 9, 9, generator=g, requires_grad=True)
        offset = torch.randn(2, 18, 9, 9, generator=g, requires_grad=True)
        w = torch.randn(6, 4, 3, 3, generator=g, requires_grad=True)
        return _fwd_bwd(lambda x, o, w: ops.deform_conv2d(x, o, w, 1, 1, 1, 1, 1, False, 32), x, offset, w)

    def modulated_deform_conv(g):
        x = torch.randn(2, 4, 9, 9, generator=g, requires_grad=True)
        offset = torch.randn(2, 18, 9, 9, generator=g, requires_grad=True)
        mask = torch.rand(2, 9, 9, 9, generator=g, requires_grad=True)
        w = torch.randn(6, 4, 3, 3, generator=g, requires_grad=True)
        b = torch.randn(6, generator=g, requires_grad=True)
        return _fwd_bwd(lambda x, o, m, w, b: ops.modulated_deform_conv2d(x, o, m, w, b, 1, 1, 1, 1, 1),
                        x, offset, mask, w, b)

    def psa_mask(g):
        out = []
        for kind in ('collect', 'distribute'):
            x = torch.randn(2, 25, 6, 7, generator=g, requires_grad=True)
            out += _fwd_bwd(lambda x: ops.PSAMask(kind, (5, 5))(x), x)
        return out

    def rotated_feature_align(g):
        x = torch.randn(2, 4, 8, 8, generator=g, requires_grad=True)
        bboxes = _rboxes(g, 2 * 8 * 8).view(2, 8, 8, 5) / 8
        return _fwd_bwd(lambda x: ops.rotated_feature_align(x, bboxes, 1 / 8, 5), x)

    def active_rotated_filter(g):
        x = torch.randn(4, 2, 8, 3, 3, generator=g, requires_grad=True)
        indices = torch.randint(1, 8 * 9 + 1, (8, 3, 3, 8), generator=g, dtype=torch.int32)
        return _fwd_bwd(lambda x: ops.active_rotated_filter(x, indices), x)

    def pixel_group(g):
        score = torch.rand(16, 16, generator=g)
        mask = score > 0.4
        embedding = torch.randn(16, 16, 4, generator=g)
        kernel_label = torch.zeros(16, 16, dtype=torch.int32)
        kernel_label[2:6, 2:6], kernel_label[9:14, 8:15] = 1, 2
        kernel_contour = torch.zeros(16, 16, dtype=torch.uint8)
        kernel_contour[2, 2:6] = kernel_contour[9, 8:15] = 1
        groups = ops.pixel_group(score, mask, embedding, kernel_label, kernel_contour, 3, 0.8)
        kernels = torch.zeros(2, 16, 16, dtype=torch.uint8)
        kernels[0][mask], kernels[1][2:6, 2:6] = 1, 1
        expanded = ops.contour_expand(kernels, torch.as_tensor(kernel_label.numpy()), 4, 3)
        return [torch.as_tensor(gr) for gr in groups] + [torch.as_tensor(expanded)]

    def points_in_boxes(g):
        points = torch.rand(2, 200, 3, generator=g) * 8 - 4
        boxes = torch.cat([torch.rand(2, 6, 3, generator=g) * 6 - 3, torch.rand(2, 6, 3, generator=g) * 3 + .5,
                           torch.rand(2, 6, 1, generator=g) * 3], dim=2)
        return [ops.points_in_boxes_cpu(points, boxes)]

    def voxelization(g):
        points = torch.rand(500, 4, generator=g) * torch.tensor([8., 8., 4., 1.]) - torch.tensor([4., 4., 2., 0.])
        hard = ops.Voxelization([0.5, 0.5, 0.5], [-4, -4, -2, 4, 4, 2], max_num_points=5, max_voxels=100)(points)
        dynamic = ops.Voxelization([0.5, 0.5, 0.5], [-4, -4, -2, 4, 4, 2], max_num_points=-1)(points)
        return [*hard, dynamic]

    return dict(nms=nms_family, rotated_boxes=rotated_family, bbox_overlaps=bbox_overlaps, roi_align=roi_align,
                roi_align_rotated=roi_align_rotated, bezier_align=bezier_align, deform_conv=deform_conv,
                modulated_deform_conv=modulated_deform_conv, psa_mask=psa_mask,
                rotated_feature_align=rotated_feature_align, active_rotated_filter=active_rotated_filter,
                pixel_group=pixel_group, points_in_boxes=points_in_boxes, voxelization=voxelization)


def run_all() -> Dict[str, List[torch.Tensor]]:
    torch.set_num_threads(1)
    return {name: case(torch.Generator().manual_seed(0)) for name, case in cases().items()}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ('save', 'compare'):
        print(__doc__)
        return 2
    mode, path = argv
    results = run_all()
    if mode == 'save':
        torch.save(results, path)
        print(f'{len(results)} ops, {sum(map(len, results.values()))} tensors saved to {path}')
        return 0
    stored = torch.load(path, weights_only=True)
    failed = 0
    for name, tensors in results.items():
        expected = stored.get(name)
        same = expected is not None and len(expected) == len(tensors) and all(
            a.dtype == b.dtype and torch.equal(a, b) for a, b in zip(expected, tensors))
        failed += not same
        print(f'{name}: {"bitwise equal" if same else "DIFFERENT"} ({len(tensors)} tensors)')
    return 1 if failed else 0


if __name__ == '__main__':
    from secvit_mm.cli import run_cli
    sys.exit(run_cli(main))
