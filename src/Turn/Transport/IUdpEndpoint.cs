using System.Net;

namespace Turn.Transport;

/// <summary>A bound UDP listening address of a data plane.</summary>
internal interface IUdpEndpoint
{
    ListenEndpoint Endpoint { get; }

    IPEndPoint LocalEndPoint { get; }
}
