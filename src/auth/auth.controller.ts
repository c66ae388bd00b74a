import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { AuthUser, CurrentUser, Public } from '../common/auth.decorators';
import { LoginGuard } from './auth.guards';
import { AuthThrottlerGuard } from './auth-throttle';
import { AccessToken, AuthService } from './auth.service';
import {
  FormLoginDto,
  JsonLoginDto,
  SignupDto,
  TokenResponseDto,
  UserResponseDto,
} from './dto/auth.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('signup')
  @UseGuards(AuthThrottlerGuard)
  @ApiOperation({ summary: 'Create a user account' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiTooManyRequestsResponse({
    description: '`too_many_requests` (per client address), with `Retry-After`',
  })
  signup(@Body() body: SignupDto): Promise<UserResponseDto> {
    return this.auth.signup(body.email, body.password);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  // The address throttle runs first: a throttled request never reaches the password check.
  @UseGuards(AuthThrottlerGuard, LoginGuard)
  @ApiOperation({
    summary: 'Exchange email and password for a bearer token (OAuth2 password form or JSON)',
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiExtraModels(FormLoginDto, JsonLoginDto)
  @ApiBody({
    schema: {
      oneOf: [{ $ref: getSchemaPath(FormLoginDto) }, { $ref: getSchemaPath(JsonLoginDto) }],
    },
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiTooManyRequestsResponse({
    description:
      '`too_many_requests` (per client address) or `too_many_failed_logins` (per email), with `Retry-After`',
  })
  login(@CurrentUser() user: AuthUser): Promise<AccessToken> {
    return this.auth.issueToken(user);
  }

  @Get('me')
  @ApiBearerAuth('jwt')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserResponseDto })
  me(@CurrentUser() user: AuthUser): Promise<UserResponseDto> {
    return this.auth.me(user);
  }
}
