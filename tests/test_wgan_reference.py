"""genlab's WGAN-GP update is Algorithm 1 of Gulrajani et al. (2017), checked step by step.

A reference loop written from the paper — n_critic critic updates, each on fresh noise
and fresh interpolation weights, the penalty λ·E[(‖∇D(x̂)‖ − 1)²], then one generator
update on −E[D(G(z))], Adam(α, β1, β2) for both — starts from copies of the same
networks and consumes the random numbers in the same order. After two full updates
the parameters of both must agree to float precision: the slow convergence of WGAN-GP
on the ring (chapter 5) is the method at that budget, not a bug.
"""

import copy

import torch

import genlab


def reference_update(G, D, opt_g, opt_d, real, n_critic: int, gp_weight: float, latent_dim: int) -> None:
    """One generator update of Algorithm 1, with the same real minibatch for every critic step."""
    n = len(real)
    for i in range(n_critic):
        z = torch.randn(n, latent_dim)
        fake = G(z).detach() if i < n_critic - 1 else G(z)
        eps = torch.rand(n, 1)
        x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        critic_loss = D(fake.detach()).mean() - D(real).mean() + gp_weight * (grad.norm(dim=1) - 1).pow(2).mean()
        opt_d.zero_grad()
        critic_loss.backward()
        opt_d.step()
    generator_loss = -D(fake).mean()  # the last critic step's samples, against the updated critic
    opt_g.zero_grad()
    generator_loss.backward()
    opt_g.step()


def test_two_wgan_gp_updates_match_the_papers_algorithm():
    torch.manual_seed(0)
    gan = genlab.GAN.mlp(hidden=16, depth=2, loss="wgan-gp", d_steps=5, lr=1e-3, betas=(0.5, 0.9))
    G, D = copy.deepcopy(gan.generator), copy.deepcopy(gan.discriminator)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    optimizers = gan.configure_optimizers()
    batches = [torch.randn(32, 2), torch.randn(32, 2)]

    for step, real in enumerate(batches):
        torch.manual_seed(1)
        gan.train_step(real, optimizers, step)
        torch.manual_seed(1)
        reference_update(G, D, opt_g, opt_d, real, n_critic=5, gp_weight=gan.gp_weight, latent_dim=2)

    for ours, theirs in [(gan.generator, G), (gan.discriminator, D)]:
        for p, q in zip(ours.parameters(), theirs.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    # and the update moved them: the comparison is not between two untouched copies
    torch.manual_seed(0)
    untouched = genlab.GAN.mlp(hidden=16, depth=2, loss="wgan-gp", d_steps=5)
    assert not torch.allclose(next(untouched.generator.parameters()), next(G.parameters()))
