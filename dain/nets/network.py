"""The DAIN network (CVPR 2019), composed as the official ``DAIN_slowmotion`` model.

Top-level children carry the official names, in the official registration order, so the
official ``best.pth`` loads with ``load_state_dict`` unchanged (954 keys):

- ``initScaleNets_filter`` (:class:`~dain.nets.kernel_net.KernelTrunk`), ``initScaleNets_filter1`` and
  ``initScaleNets_filter2`` (:class:`~dain.nets.kernel_net.KernelHead`): per-pixel 4×4 kernels;
- ``ctxNet`` (:class:`~dain.nets.context.ContextExtractor`): 195-channel context;
- ``rectifyNet`` (:class:`~dain.nets.rectify.RectifyNet`): residual refinement;
- ``flownets`` (:class:`~dain.nets.pwcnet.PWCDCNet`): optical flow;
- ``depthNet`` (:func:`~dain.nets.megadepth.build_megadepth_hourglass`): log-depth.

The work is split in two so that any number of phases reuses the per-pair results:
:meth:`DAIN.analyse_pair` (flow both ways, depth, kernels, context: once per pair) and
:meth:`DAIN.synthesize` (projection, adaptive warping, blend, refinement: once per phase).
Frames must already be padded to multiples of 64 (see :func:`official_padding`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

import cuda_kernels
from dain.nets.context import ContextExtractor
from dain.nets.kernel_net import KernelHead, KernelTrunk
from dain.nets.megadepth import build_megadepth_hourglass
from dain.nets.pwcnet import PWCDCNet
from dain.nets.rectify import RectifyNet

__all__ = ["DAIN", "PairFeatures", "Synthesis", "official_padding", "SIZE_MULTIPLE", "FLOW_SCALE"]

SIZE_MULTIPLE = 64  # PWC-Net has six stride-2 levels
FLOW_SCALE = 20.0  # PWC-Net flow is in pixels / 20 (``div_flow``)
# Keeps exp(-log_depth) finite in float32 for degenerate (e.g. random-weight) depth outputs.
_LOG_DEPTH_LIMIT = 60.0


def official_padding(length: int) -> tuple[int, int]:
    """Replicate-padding ``(before, after)`` of one image axis, as the official demo scripts do.

    A length that is not a multiple of 128 is padded to the next multiple of 128, split
    ``before = total // 2``; a multiple of 128 gets 32 pixels on each side. The result is always
    a multiple of 64, which the network needs.
    """
    if length < 1:
        raise ValueError(f"length: must be positive, got {length}")
    if length % 128:
        total = (length // 128 + 1) * 128 - length
        return total // 2, total - total // 2
    return 32, 32


@dataclass
class PairFeatures:
    """What DAIN computes once per pair for all phases, at the padded resolution (B = batch).

    frame0, frame1: (B,3,H,W) input frames in [0,1].
    flow_0to1, flow_1to0: (B,2,H,W) float32 full-resolution flows in pixels (x, y).
    inverse_depth0, inverse_depth1: (B,1,H,W) float32, ``exp(-log_depth) + 1e-6``.
    kernel0, kernel1: (B,16,H,W) raw 4×4 warping kernels of frame 0 / frame 1.
    context0, context1: (B,196,H,W) context features + log-depth.
    """

    frame0: torch.Tensor
    frame1: torch.Tensor
    flow_0to1: torch.Tensor
    flow_1to0: torch.Tensor
    inverse_depth0: torch.Tensor
    inverse_depth1: torch.Tensor
    kernel0: torch.Tensor
    kernel1: torch.Tensor
    context0: torch.Tensor
    context1: torch.Tensor


@dataclass
class Synthesis:
    """Result of one phase: ``frame`` (refined), ``blend`` (before refinement), both (B,3,H,W);
    ``flow_t0``/``flow_t1`` (B,2,H,W): projected flows from time t towards frame 0 / frame 1."""

    frame: torch.Tensor
    blend: torch.Tensor
    flow_t0: torch.Tensor
    flow_t1: torch.Tensor


def _float32(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float32).contiguous()


class DAIN(nn.Module):
    """Depth-Aware video frame INterpolation with the official module layout."""

    def __init__(self) -> None:
        super().__init__()
        self.initScaleNets_filter = KernelTrunk(in_channels=6, out_channels=16)
        self.initScaleNets_filter1 = KernelHead(16)
        self.initScaleNets_filter2 = KernelHead(16)
        self.ctxNet = ContextExtractor()
        self.rectifyNet = RectifyNet()
        self.flownets = PWCDCNet()
        self.depthNet = build_megadepth_hourglass()

    @staticmethod
    def _check_pair(frame0: torch.Tensor, frame1: torch.Tensor) -> None:
        if frame0.ndim != 4 or frame0.shape[1] != 3:
            raise ValueError(f"frame0: expected (B,3,H,W), got {tuple(frame0.shape)}")
        if frame1.shape != frame0.shape:
            raise ValueError(f"frame1: shape {tuple(frame1.shape)} differs from frame0 {tuple(frame0.shape)}")
        height, width = frame0.shape[-2:]
        if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
            raise ValueError(
                f"frame0: H and W must be multiples of {SIZE_MULTIPLE} (pad first), got {height}x{width}"
            )

    def analyse_pair(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PairFeatures:
        """Per-pair work, done once for all phases.

        frame0, frame1: (B,3,H,W) RGB in [0,1], H and W multiples of 64.
        """
        self._check_pair(frame0, frame1)
        batch = frame0.shape[0]
        height, width = frame0.shape[-2:]

        # Flow both ways in one PWC-Net call: batch = [I0→I1, I1→I0].
        pairs = torch.cat((torch.cat((frame0, frame1), dim=1), torch.cat((frame1, frame0), dim=1)), dim=0)
        flow_quarter = _float32(self.flownets(pairs)) * FLOW_SCALE
        # Flow is already in full-resolution pixels: upsample its field, do not scale its values.
        flows = F.interpolate(flow_quarter, size=(height, width), mode="bilinear", align_corners=False)

        log_depth = _float32(self.depthNet(torch.cat((frame0, frame1), dim=0)))
        inverse_depth = torch.exp(-log_depth.clamp(-_LOG_DEPTH_LIMIT, _LOG_DEPTH_LIMIT)) + 1e-6

        context = self.ctxNet(torch.cat((frame0, frame1), dim=0))
        context = torch.cat((context, log_depth.to(context.dtype)), dim=1)

        trunk = self.initScaleNets_filter(torch.cat((frame0, frame1), dim=1))
        kernel0 = self.initScaleNets_filter1(trunk)
        kernel1 = self.initScaleNets_filter2(trunk)

        return PairFeatures(
            frame0=frame0,
            frame1=frame1,
            flow_0to1=flows[:batch],
            flow_1to0=flows[batch:],
            inverse_depth0=inverse_depth[:batch],
            inverse_depth1=inverse_depth[batch:],
            kernel0=kernel0,
            kernel1=kernel1,
            context0=context[:batch],
            context1=context[batch:],
        )

    def synthesize(self, pair: PairFeatures, phase: float) -> Synthesis:
        """Per-phase work: the frame at time ``phase`` ∈ [0,1] between the analysed frames."""
        if not 0.0 <= phase <= 1.0:
            raise ValueError(f"phase: must lie in [0, 1], got {phase}")
        with torch.autocast(device_type=pair.frame0.device.type, enabled=False):
            flow_t0 = cuda_kernels.depth_flow_projection(
                _float32(pair.flow_0to1 * phase), _float32(pair.inverse_depth0), fill_holes=True
            )
            flow_t1 = cuda_kernels.depth_flow_projection(
                _float32(pair.flow_1to0 * (1.0 - phase)), _float32(pair.inverse_depth1), fill_holes=True
            )
            # Frame and context share flow and kernel: warp them in one call per side.
            warped0 = cuda_kernels.adaptive_warp(
                _float32(torch.cat((pair.frame0, pair.context0.to(pair.frame0.dtype)), dim=1)),
                flow_t0,
                _float32(pair.kernel0),
            )
            warped1 = cuda_kernels.adaptive_warp(
                _float32(torch.cat((pair.frame1, pair.context1.to(pair.frame1.dtype)), dim=1)),
                flow_t1,
                _float32(pair.kernel1),
            )
        frame_warped0, context_warped0 = warped0[:, :3], warped0[:, 3:]
        frame_warped1, context_warped1 = warped1[:, :3], warped1[:, 3:]
        blend = (1.0 - phase) * frame_warped0 + phase * frame_warped1
        rectify_input = torch.cat(
            (
                blend,
                frame_warped0,
                frame_warped1,
                flow_t0,
                flow_t1,
                _float32(pair.kernel0),
                _float32(pair.kernel1),
                context_warped0,
                context_warped1,
            ),
            dim=1,
        )
        frame = _float32(self.rectifyNet(rectify_input)) + blend
        return Synthesis(frame=frame, blend=blend, flow_t0=flow_t0, flow_t1=flow_t1)

    def forward(self, frame0: torch.Tensor, frame1: torch.Tensor, phases: Sequence[float]) -> torch.Tensor:
        """frame0, frame1: (B,3,H,W) in [0,1], H and W multiples of 64.

        Returns the refined frames (B,len(phases),3,H,W), float32, not clipped.
        """
        pair = self.analyse_pair(frame0, frame1)
        frames = [self.synthesize(pair, float(phase)).frame for phase in phases]
        if not frames:
            return frame0.new_zeros((frame0.shape[0], 0, *frame0.shape[1:]), dtype=torch.float32)
        return torch.stack(frames, dim=1)
