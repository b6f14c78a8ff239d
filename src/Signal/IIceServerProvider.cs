namespace Turn.Signal;

/// <summary>Hands a peer the ICE servers it should use, with fresh credentials; the daemon implements it with TURN REST credentials.</summary>
public interface IIceServerProvider
{
    IReadOnlyList<IceServer> GetIceServers(string peerId);
}
