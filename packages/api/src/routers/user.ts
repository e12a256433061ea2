import { updateProfileInput } from '../schemas';
import { authedProcedure, router } from '../trpc';

export const userRouter = router({
  profile: authedProcedure.query(({ ctx }) => ctx.deps.users.profile(ctx.user)),

  updateProfile: authedProcedure
    .input(updateProfileInput)
    .mutation(({ ctx, input }) => ctx.deps.users.updateProfile(ctx.user, input)),
});
