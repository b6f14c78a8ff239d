using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>Every prefix of every vector is refused as a datagram and waited for as a stream frame.</summary>
public sealed class TruncationTests
{
    public static TheoryData<string> AllVectors => Vectors.AllNames;

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void EveryPrefixOfVector_IsTruncatedNeverOk(string vector)
    {
        byte[] bytes = Vectors.Load(vector);
        for (int length = 0; length < bytes.Length; length++)
        {
            // A fresh array, so that reading past the prefix would fault rather than see the rest.
            byte[] prefix = bytes.AsSpan(0, length).ToArray();
            Assert.Equal(StunParseStatus.Truncated, StunMessage.TryParse(prefix, out _));
        }

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(bytes, out _));
    }

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void EveryPrefixOfVector_NeedsMoreAsStreamFrame(string vector)
    {
        byte[] bytes = Vectors.Load(vector);
        for (int length = 0; length < bytes.Length; length++)
        {
            byte[] prefix = bytes.AsSpan(0, length).ToArray();
            Assert.Equal(FrameStatus.NeedMore, StreamFraming.TryGetFrame(prefix, out _, out _));
        }

        Assert.Equal(FrameStatus.Complete, StreamFraming.TryGetFrame(bytes, out int frameLength, out PacketKind kind));
        Assert.Equal(bytes.Length, frameLength);
        Assert.Equal(PacketKind.Stun, kind);
    }

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void VectorWithTrailingBytes_IsBadLengthAsDatagramButFramesAsStream(string vector)
    {
        byte[] bytes = Vectors.Load(vector);
        for (int extra = 1; extra <= 8; extra++)
        {
            byte[] longer = new byte[bytes.Length + extra];
            bytes.CopyTo(longer, 0);
            Assert.Equal(StunParseStatus.BadLength, StunMessage.TryParse(longer, out _));
            Assert.Equal(FrameStatus.Complete, StreamFraming.TryGetFrame(longer, out int frameLength, out _));
            Assert.Equal(bytes.Length, frameLength);
        }
    }

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void VectorCutWithHeaderLengthToMatch_ParsesOnlyAtAttributeBoundaries(string vector)
    {
        byte[] bytes = Vectors.Load(vector);
        var boundaries = new HashSet<int>();
        for (int offset = StunHeader.Length; offset < bytes.Length; offset += 4 + Padding.Pad4((bytes[offset + 2] << 8) | bytes[offset + 3]))
        {
            boundaries.Add(offset);
        }

        for (int length = StunHeader.Length; length < bytes.Length; length += 4)
        {
            byte[] cut = bytes.AsSpan(0, length).ToArray();
            StunHeader.WriteLength(cut, length - StunHeader.Length);
            StunParseStatus status = StunMessage.TryParse(cut, out StunMessage message);
            if (boundaries.Contains(length) || length == StunHeader.Length)
            {
                Assert.Equal(StunParseStatus.Ok, status);
                Assert.Equal(-1, message.FingerprintOffset);
            }
            else
            {
                Assert.Equal(StunParseStatus.MalformedAttribute, status);
            }
        }
    }
}
