using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>
/// TCP/TLS framing (RFC 8489 §6.2.2, RFC 8656 §12.5): STUN messages and padded ChannelData
/// frames cut out of a stream however the stream happens to be split.
/// </summary>
public sealed class StreamFramingTests
{
    [Fact]
    public void MixedStream_SplitAtEveryBytePosition_YieldsEveryFrameIntactAndInOrder()
    {
        List<byte[]> frames = BuildFrames();
        byte[] stream = [.. frames.SelectMany(f => f)];

        for (int split = 0; split <= stream.Length; split++)
        {
            var reader = new Accumulator();
            reader.Feed(stream.AsSpan(0, split));
            reader.Feed(stream.AsSpan(split));
            AssertFrames(frames, reader, $"split at {split}");
        }
    }

    [Fact]
    public void MixedStream_FedInChunksOfEverySize_YieldsEveryFrameIntactAndInOrder()
    {
        List<byte[]> frames = BuildFrames();
        byte[] stream = [.. frames.SelectMany(f => f)];

        for (int chunk = 1; chunk <= stream.Length; chunk++)
        {
            var reader = new Accumulator();
            for (int offset = 0; offset < stream.Length; offset += chunk)
            {
                reader.Feed(stream.AsSpan(offset, Math.Min(chunk, stream.Length - offset)));
            }

            AssertFrames(frames, reader, $"chunks of {chunk}");
        }
    }

    [Fact]
    public void MixedStream_SplitAtEveryPairOfPositions_YieldsEveryFrame()
    {
        List<byte[]> frames = BuildFrames();
        byte[] stream = [.. frames.SelectMany(f => f)];

        for (int first = 0; first <= stream.Length; first += 5)
        {
            for (int second = first; second <= stream.Length; second++)
            {
                var reader = new Accumulator();
                reader.Feed(stream.AsSpan(0, first));
                reader.Feed(stream.AsSpan(first, second - first));
                reader.Feed(stream.AsSpan(second));
                AssertFrames(frames, reader, $"split at {first} and {second}");
            }
        }
    }

    [Theory]
    [InlineData(0x80)]
    [InlineData(0xBF)]
    [InlineData(0xC0)]
    [InlineData(0xFF)]
    public void FirstByteWithTopBitSet_IsInvalid(byte first)
    {
        Assert.Equal(FrameStatus.Invalid, StreamFraming.TryGetFrame([first], out _, out _));
        Assert.Equal(FrameStatus.Invalid, StreamFraming.TryGetFrame([first, 0, 0, 4, 0, 0, 0, 0], out _, out PacketKind kind));
        Assert.Equal(PacketKind.Unknown, kind);
    }

    [Fact]
    public void EmptyBuffer_NeedsMore()
        => Assert.Equal(FrameStatus.NeedMore, StreamFraming.TryGetFrame([], out _, out _));

    [Theory]
    [InlineData(0x50)]
    [InlineData(0x7F)]
    public void ChannelNumberOfTheRfc5766Range_IsFramed(byte first)
        => Assert.Equal(FrameStatus.Complete, StreamFraming.TryGetFrame([first, 0x00, 0x00, 0x04, 1, 2, 3, 4], out _, out _));

    [Theory]
    [InlineData(0x80)]
    [InlineData(0xC0)]
    public void FirstBitSet_IsInvalid(byte first)
        => Assert.Equal(FrameStatus.Invalid, StreamFraming.TryGetFrame([first, 0x00, 0x00, 0x04, 1, 2, 3, 4], out _, out _));

    [Fact]
    public void StunLengthNotMultipleOfFour_IsInvalid()
        => Assert.Equal(FrameStatus.Invalid, StreamFraming.TryGetFrame([0x00, 0x01, 0x00, 0x05], out _, out _));

    [Fact]
    public void StunWithoutMagicCookie_IsInvalidOnceTheCookieIsSeen()
    {
        byte[] classic = [0x00, 0x01, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, .. new byte[12]];
        Assert.Equal(FrameStatus.NeedMore, StreamFraming.TryGetFrame(classic.AsSpan(0, 7), out _, out _));
        Assert.Equal(FrameStatus.Invalid, StreamFraming.TryGetFrame(classic.AsSpan(0, 8), out _, out _));
        Assert.Equal(FrameStatus.Invalid, StreamFraming.TryGetFrame(classic, out _, out _));
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 8)]
    [InlineData(4, 8)]
    [InlineData(5, 12)]
    public void ChannelData_FrameIsPaddedToFour(int dataLength, int expectedFrame)
    {
        byte[] frame = new byte[expectedFrame];
        ChannelData.WriteHeader(frame, 0x4000, dataLength);
        Assert.Equal(FrameStatus.NeedMore, StreamFraming.TryGetFrame(frame.AsSpan(0, expectedFrame - 1), out _, out _));
        Assert.Equal(FrameStatus.Complete, StreamFraming.TryGetFrame(frame, out int length, out PacketKind kind));
        Assert.Equal(expectedFrame, length);
        Assert.Equal(PacketKind.ChannelData, kind);
    }

    [Fact]
    public void LargestStunMessage_Frames()
    {
        byte[] message = new byte[StreamFraming.MaxFrameLength];
        var writer = StunWriter.Create(message, StunMethod.Binding, StunClass.Indication, new byte[12]);
        writer.AddBytes(StunAttributeType.Data, new byte[StreamFraming.MaxFrameLength - StunHeader.Length - 4]);

        Assert.Equal(message.Length, writer.Length);
        Assert.Equal(FrameStatus.Complete, StreamFraming.TryGetFrame(message, out int length, out _));
        Assert.Equal(message.Length, length);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out _));
    }

    private static List<byte[]> BuildFrames()
    {
        var frames = new List<byte[]>
        {
            Vectors.Load(Vectors.Rfc5769Request),
            ChannelDataFrame(0x4000, [1, 2, 3, 4, 5]),
            Vectors.Load(Vectors.Rfc5769Ipv4Response),
            ChannelDataFrame(0x4FFF, []),
            ChannelDataFrame(0x4001, [9, 8, 7, 6]),
            Vectors.Load(Vectors.Rfc5769LongTermRequest),
            ChannelDataFrame(0x4ABC, [0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xA4]),
            Vectors.Load(Vectors.Rfc8489Sha256Request),
            Vectors.Load(Vectors.Rfc5769Ipv6Response),
        };

        byte[] buffer = new byte[64];
        var writer = StunWriter.Create(buffer, StunMethod.Refresh, StunClass.Request, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        writer.AddUInt32(StunAttributeType.Lifetime, 0);
        writer.AddFingerprint();
        frames.Add(writer.Written.ToArray());
        frames.Add(ChannelDataFrame(0x4002, [0xFF]));
        return frames;
    }

    private static byte[] ChannelDataFrame(ushort channel, byte[] data)
    {
        byte[] frame = new byte[ChannelData.HeaderLength + Padding.Pad4(data.Length)];
        ChannelData.WriteHeader(frame, channel, data.Length);
        data.CopyTo(frame, ChannelData.HeaderLength);
        return frame;
    }

    private static void AssertFrames(List<byte[]> expected, Accumulator reader, string how)
    {
        Assert.True(reader.Frames.Count == expected.Count, $"{how}: {reader.Frames.Count} frames");
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(reader.Frames[i].Bytes), $"{how}: frame {i} differs");
            if (reader.Frames[i].Kind == PacketKind.Stun)
            {
                Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(reader.Frames[i].Bytes, out _));
            }
            else
            {
                Assert.Equal(PacketKind.ChannelData, reader.Frames[i].Kind);
                Assert.True(ChannelData.TryParse(reader.Frames[i].Bytes, out ushort channel, out ReadOnlySpan<byte> data));
                Assert.Equal((expected[i][0] << 8) | expected[i][1], channel);
                Assert.Equal((expected[i][2] << 8) | expected[i][3], data.Length);
            }
        }

        Assert.Equal(0, reader.Buffered);
    }

    /// <summary>The loop a TCP connection runs: append what arrived, cut whole frames off the front.</summary>
    private sealed class Accumulator
    {
        private readonly byte[] _buffer = new byte[4096];

        public int Buffered { get; private set; }

        public List<(PacketKind Kind, byte[] Bytes)> Frames { get; } = [];

        public void Feed(ReadOnlySpan<byte> received)
        {
            received.CopyTo(_buffer.AsSpan(Buffered));
            Buffered += received.Length;
            while (true)
            {
                FrameStatus status = StreamFraming.TryGetFrame(_buffer.AsSpan(0, Buffered), out int length, out PacketKind kind);
                Assert.NotEqual(FrameStatus.Invalid, status);
                if (status == FrameStatus.NeedMore)
                {
                    return;
                }

                Frames.Add((kind, _buffer.AsSpan(0, length).ToArray()));
                _buffer.AsSpan(length, Buffered - length).CopyTo(_buffer);
                Buffered -= length;
            }
        }
    }
}
