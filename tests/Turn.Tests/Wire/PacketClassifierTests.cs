using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>STUN versus ChannelData by the two leading bits (RFC 8656 §12).</summary>
public sealed class PacketClassifierTests
{
    [Fact]
    public void EveryFirstByte_IsClassifiedByItsTopTwoBits()
    {
        for (int first = 0; first <= 0xFF; first++)
        {
            PacketKind expected = (first >> 6) switch
            {
                0 => PacketKind.Stun,
                1 => PacketKind.ChannelData,
                _ => PacketKind.Unknown,
            };
            Assert.Equal(expected, PacketClassifier.Classify([(byte)first, 0, 0, 0]));
        }
    }

    [Fact]
    public void Empty_IsUnknown() => Assert.Equal(PacketKind.Unknown, PacketClassifier.Classify([]));

    [Fact]
    public void Vectors_AreStun()
    {
        foreach (string vector in Vectors.All)
        {
            Assert.Equal(PacketKind.Stun, PacketClassifier.Classify(Vectors.Load(vector)));
        }
    }

    [Fact]
    public void ChannelDataHeader_IsChannelData()
        => Assert.Equal(PacketKind.ChannelData, PacketClassifier.Classify([0x4F, 0xFF, 0x00, 0x00]));
}
