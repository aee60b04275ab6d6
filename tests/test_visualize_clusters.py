"""tools/visualize_clusters.py writes the Figure-4 picture: image + stages 1-3, several colours each."""
import os.path as osp

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_visualize_clusters_from_detection_config(tmp_path):
    import mmcv
    from tools.visualize_clusters import TITLE_HEIGHT, main
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, (120, 160, 3), dtype=np.uint8)
    image[20:70, 30:90] = (0, 200, 255)  # a square on a noisy background
    path = str(tmp_path / 'img.png')
    mmcv.imwrite(image, path)
    out = str(tmp_path / 'clusters.png')
    main([osp.join(ROOT, 'configs', 'demo', 'mask_rcnn_secvit_t_demo.py'), path, '--out', out, '--head', '1'])
    picture = mmcv.imread(out)
    assert picture.shape == (120 + TITLE_HEIGHT, 4 * 160, 3)
    for panel in range(1, 4):  # stages 1-3: more than one cluster colour each
        body = picture[TITLE_HEIGHT:, panel * 160:(panel + 1) * 160].reshape(-1, 3)
        assert len(np.unique(body, axis=0)) > 1
