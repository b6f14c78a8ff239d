using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>ChannelData messages (RFC 8656 §12.4).</summary>
public sealed class ChannelDataTests
{
    [Theory]
    [InlineData(0x4000)]
    [InlineData(0x4001)]
    [InlineData(0x4FFF)]
    [InlineData(0x5000)]
    [InlineData(0x7FFF)]
    public void ChannelInRange_Parses(int channel)
    {
        byte[] packet = new byte[4 + 3];
        ChannelData.WriteHeader(packet, (ushort)channel, 3);
        packet[4] = 0xAA;
        packet[6] = 0xCC;

        Assert.True(ChannelData.TryParse(packet, out ushort read, out ReadOnlySpan<byte> data));
        Assert.Equal(channel, read);
        Assert.Equal(new byte[] { 0xAA, 0x00, 0xCC }, data.ToArray());
    }

    [Theory]
    [InlineData(0x0000)]
    [InlineData(0x3FFF)]
    [InlineData(0x8000)]
    [InlineData(0xFFFF)]
    public void ChannelOutOfRange_IsRejected(int channel)
    {
        byte[] packet = new byte[8];
        ChannelData.WriteHeader(packet, (ushort)channel, 4);
        Assert.False(ChannelData.TryParse(packet, out _, out _));
    }

    [Fact]
    public void DataShorterThanLength_IsRejected()
    {
        byte[] packet = new byte[4 + 9];
        ChannelData.WriteHeader(packet, 0x4000, 10);
        Assert.False(ChannelData.TryParse(packet, out _, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void ShorterThanHeader_IsRejected(int length)
        => Assert.False(ChannelData.TryParse(new byte[] { 0x40, 0x00, 0x00 }.AsSpan(0, length), out _, out _));

    [Fact]
    public void Padding_IsNotPartOfTheData()
    {
        byte[] packet = new byte[4 + 8];
        ChannelData.WriteHeader(packet, 0x4123, 5);

        Assert.True(ChannelData.TryParse(packet, out ushort channel, out ReadOnlySpan<byte> data));
        Assert.Equal(0x4123, channel);
        Assert.Equal(5, data.Length);
    }

    [Fact]
    public void EmptyData_Parses()
    {
        byte[] packet = [0x40, 0x00, 0x00, 0x00];
        Assert.True(ChannelData.TryParse(packet, out _, out ReadOnlySpan<byte> data));
        Assert.True(data.IsEmpty);
    }
}
