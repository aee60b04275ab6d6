from .cls_neck import ConvPoolNeck

__all__ = ['ConvPoolNeck']
